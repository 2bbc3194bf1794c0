"""Every command's --help teaches: examples to paste and its exit codes.

The README promises "Every command has `--help` with examples" and the top
level's help says "Each command's --help has its own" exit codes; `db upgrade`,
`config show` and both `grafana` subcommands had no example, and seven commands
no exit codes. `run` also exits 130 when a signal stops it during its start,
which its help left out.
"""

import pytest
from click.testing import CliRunner
from test_cli_docs import leaf_commands

from monitor.cli import cli


def _help(words: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("words", leaf_commands(), ids=" ".join)
def test_help_has_examples_of_itself_and_its_exit_codes(words: tuple[str, ...]) -> None:
    text = _help(words)
    examples = text.split("Examples:\n", 1)
    assert len(examples) == 2, f"{' '.join(words)} --help has no Examples"
    block = examples[1].split("\n\n", 1)[0].splitlines()
    command = f"article-monitor {' '.join(words)}"
    assert any(line.strip().startswith(command) for line in block), block
    assert "Exit codes: 0 " in " ".join(text.split()), f"{' '.join(words)} --help: no exit codes"


@pytest.mark.parametrize("words", [("run",), ("check",), ("verify",)])
def test_a_signal_exit_is_in_the_help(words: tuple[str, ...]) -> None:
    assert "130 " in " ".join(_help(words).split())
