"""Every command teaches: it has help text with a summary, and the README lists it."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import COMMANDS, cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def leaf_commands() -> list[tuple[str, ...]]:
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


@pytest.mark.parametrize("words", leaf_commands(), ids=" ".join)
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


# CONTRACT section 2: the options shared by `check` and `run`, spelled as it spells them
CONTRACT_METAVARS = {
    "--config": "FILE",
    "--db": "URL",
    "--concurrency": "N",
    "--per-host": "N",
    "--timeout": "SECONDS",
    "--retries": "N",
    "--connect-to": "HOST1:PORT1:HOST2:PORT2",
    "--ca-bundle": "FILE",
    "--allow-network": "CIDR",
    "--key-file": "FILE",
    "--kinds": "web,amp,cdn,image",
    "--data-dir": "DIR",
}


@pytest.mark.parametrize("command", ["check", "run"])
def test_shared_options_are_spelled_as_the_contract_and_show_their_defaults(
    command: str,
) -> None:
    """A new user reads the unit and the default in --help, not in the source."""
    from monitor.config import Settings

    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    lines = {line.split()[0]: line for line in result.output.splitlines() if "  --" in line}
    for option, metavar in CONTRACT_METAVARS.items():
        assert lines[option].split()[1] == metavar, lines[option]
    text = " ".join(result.output.split())
    for name in ("concurrency", "per_host", "timeout", "retries"):
        default = Settings.model_fields[name].default
        own = text.split(f"--{name.replace('_', '-')} ")[1].split(" --")[0]  # to the next option
        assert f"[default: {default:g}]" in own, own


def test_run_help_says_what_a_signal_does_to_once() -> None:
    """`run --once` cut short by a signal exits 1 (tests/acceptance/
    test_run_once_stopped.py); the help said every signal gave exit 0."""
    result = CliRunner().invoke(cli, ["run", "--help"])
    text = " ".join(result.output.split())
    assert "SIGTERM/SIGINT: finish the checks in flight, flush, exit 0." not in text
    assert "or a signal stopped it before every due target was checked" in text


def test_a_mistyped_command_names_the_one_meant() -> None:
    """click suggests for subcommands of plain groups (`grafana exprt`), not for
    the lazily loaded top level: `chek` said only `No such command`."""
    result = CliRunner().invoke(cli, ["chek", "corpus/"])
    assert result.exit_code == 2
    assert "No such command 'chek'. Did you mean 'check'?" in result.output
    result = CliRunner().invoke(cli, ["zzz"])
    assert result.exit_code == 2
    assert "Did you mean" not in result.output
