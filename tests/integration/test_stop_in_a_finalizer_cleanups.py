"""A stop signal whose exception a finalizer swallowed still runs the command's cleanups.

The handler's exit, swallowed by a `__del__` or a weakref callback, ended the
process with `os._exit(130)`: no `finally` ran, and `keygen` left its temporary
key file (mode 0600) beside FILE, `grafana export` its `.NAME.*.tmp`. Now the
exception is raised again where the code goes on (monitor.check.swallowed_stop),
and the process still ends 130 when it is swallowed again, or caught and
dropped. Each runs the CLI's `main` in a subprocess (its handlers are its own),
with the signal sent from inside a finalizer at a chosen point of the command.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# the function patched (module:attribute) drops a Finalised on its nth call
# (the signal lands in its __del__), then goes on
SCRIPT = textwrap.dedent(
    """
    import gc, importlib, signal, sys

    kind, module_name, attribute, nth, *argv = sys.argv[1:]
    sys.argv = ["article-monitor", *argv]
    import monitor.cli

    class Finalised:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)
            total = 0
            for i in range(1000):  # the handler runs here, inside the finalizer
                total += i

    class Outer:  # a finalizer whose own code drops one: swallowed twice
        def __del__(self):
            Finalised()
            print("the outer finalizer went on")

    module = importlib.import_module(module_name)
    real = getattr(module, attribute)

    calls = []

    def place(*args, **kwargs):
        calls.append(args)
        if len(calls) != int(nth):
            pass
        elif kind == "nested":
            Outer()
        elif kind == "dropped":  # caught and dropped where it is raised again
            try:
                Finalised()
                print("went on after the finalizer")
            except BaseException:
                pass
        elif kind == "dropped-forever":
            for _ in range(600):  # 60 s: the test's bound is the subprocess's timeout
                try:
                    Finalised()
                    import time
                    time.sleep(0.1)
                except BaseException:
                    pass
            print("went on to the end")
        else:
            Finalised()
            print("went on after the finalizer")
        return real(*args, **kwargs)

    gc.disable()
    setattr(module, attribute, place)
    monitor.cli.main()
    """
)


def _run(kind: str, place: str, nth: int, *argv: str | Path) -> subprocess.CompletedProcess[str]:
    module, _, attribute = place.partition(":")
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, module, attribute, str(nth), *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=90,
    )


def _assert_interrupted(done: subprocess.CompletedProcess[str], command: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
    assert f"interrupted (SIGTERM) during `{command}`" in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "went on" not in done.stdout, done.stdout


# keygen's temporary file name is made (`_short`) once per file: on the second
# call the private key's temporary file is written, the public one's not yet
KEYGEN_SECOND_FILE = ("monitor.secured.keygen:_short", 2)


@pytest.mark.parametrize("kind", ["plain", "nested"])
def test_keygen_stopped_in_a_finalizer_leaves_no_temporary_key(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "signer.key"
    done = _run(kind, *KEYGEN_SECOND_FILE, "keygen", "--type", "ed25519", "--out", out)
    _assert_interrupted(done, "keygen")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_grafana_export_stopped_in_a_finalizer_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "grafana"
    out.mkdir()
    done = _run("plain", "monitor.grafana.export:_umask", 1, "grafana", "export", "--out", out)
    _assert_interrupted(done, "grafana export")
    assert [p.name for p in out.rglob("*") if p.name.startswith(".")] == []


def test_a_stop_caught_and_dropped_where_it_is_raised_again_still_exits_130(
    tmp_path: Path,
) -> None:
    out = tmp_path / "signer.key"
    done = _run("dropped", *KEYGEN_SECOND_FILE, "keygen", "--type", "ed25519", "--out", out)
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "interrupted (SIGTERM) during `keygen`" in done.stderr, done.stderr


def test_a_stop_dropped_again_and_again_ends_the_process_130(tmp_path: Path) -> None:
    out = tmp_path / "signer.key"
    done = _run("dropped-forever", *KEYGEN_SECOND_FILE, "keygen", "--type", "ed25519", "--out", out)
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "went on to the end" not in done.stdout
    assert "interrupted (SIGTERM) during `keygen`" in done.stderr, done.stderr
