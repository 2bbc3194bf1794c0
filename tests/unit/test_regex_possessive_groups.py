"""No module-level pattern of the package repeats a group possessively (`(…)*+`,
`(…)++`, `(…)?+`): Python 3.11.0-3.11.4 match such a repeat wrongly (CPython
gh-106052, fixed in 3.11.5), and Debian 12's 3.11.2 is one the project runs on.
A YAML pattern written so this session matched "%" as a stretch of comments
there, caught only by a random example in CI. A repeat of one character
(`[^<]*+`) is not affected; `(?>(?:…)*)` is the safe spelling. The stretches of
lines that were repeated possessively on 3.11.5+ alone (to keep the regex engine's
per-line state out of them) are found by `corpus.line_runs` on every Python now,
whose patterns are checked here too."""

from __future__ import annotations

import importlib
import pkgutil
import re

import monitor
from monitor.corpus.line_runs import LineRun

POSSESSIVE_GROUP = re.compile(r"\)(?:[*+?]|\{\d*,?\d*\})\+")
_ESCAPE = re.compile(r"\\.")
_CLASS = re.compile(r"\[\]?[^\]]*\]")


def possessive_group(pattern: str) -> bool:
    """Whether `pattern` repeats a group possessively (escapes and character
    classes, where `)*+` are plain characters, left out)."""
    plain = _CLASS.sub("c", _ESCAPE.sub("e", pattern))  # each one character still
    return bool(POSSESSIVE_GROUP.search(plain))


def _patterns() -> list[tuple[str, str]]:
    found = []
    for info in pkgutil.walk_packages(monitor.__path__, "monitor."):
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue  # the entry point runs; Alembic's scripts import only under Alembic
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            held = [(name, value)]
            if isinstance(value, LineRun):  # its patterns, held in slots
                held = [(f"{name}.{slot}", getattr(value, slot)) for slot in LineRun.__slots__]
            for label, pattern in held:
                if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
                    found.append((f"{info.name}.{label}", pattern.pattern))
    return found


def test_no_pattern_repeats_a_group_possessively() -> None:
    patterns = _patterns()
    assert len(patterns) > 50  # the walk found the package's patterns
    assert any(".PLAIN_LINES._break" in name for name, _ in patterns)  # and the runs'
    bad = [name for name, pattern in patterns if possessive_group(pattern)]
    assert not bad, bad


def test_the_rule_sees_a_possessive_group() -> None:
    assert possessive_group(r"(?:a|b)*+c") and possessive_group(r"(x){2}+")
    assert not possessive_group(r"(?>(?:a|b)*)c[^<]*+")
    assert not possessive_group(r"[()*+]+\)*+")  # in a class, or an escaped `)`
