"""Every command teaches: it has help text with a summary, and the README lists it."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import COMMANDS, cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _leaf_commands() -> list[tuple[str, ...]]:
    ctx = click.Context(cli)
    out: list[tuple[str, ...]] = []
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd is not None, name
        if isinstance(cmd, click.Group):
            out.extend((name, sub) for sub in cmd.list_commands(ctx))
        else:
            out.append((name,))
    return out


@pytest.mark.parametrize("words", _leaf_commands(), ids=" ".join)
def test_command_has_help_and_a_readme_entry(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, result.output
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20 and "Not built yet" not in summary
    assert f"article-monitor {' '.join(words)}" in README, f"README lacks {words}"


def test_group_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
