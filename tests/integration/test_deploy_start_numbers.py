"""The numbers the deploy artefacts and docs/deploy.md say about a long start
are the code's and the probes' own (hostile review).

The comments and the docs tell an operator when a start is called stalled
(observe/starting.py's STALL_AFTER), how long a phase with no count is taken
as progress (UNCOUNTED_MOST) and how long the probes wait: a constant changed
in the code, or a probe in the manifest, left the prose telling the old story.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from monitor.observe.starting import STALL_AFTER, UNCOUNTED_MOST

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
STALL = f"{STALL_AFTER:.0f} s"  # "60 s", as the prose spells it


def _container() -> dict[str, Any]:
    text = (DEPLOY / "kubernetes" / "base" / "deployment.yaml").read_text()
    deployment = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment")
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _long_start_section() -> str:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    start = docs.index("### A long start")
    return docs[start : docs.index("\n#", start + 1)]


def _flat(text: str) -> str:
    """Prose with its line breaks and comment marks gone: numbers split over lines."""
    return " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())


def test_the_stall_window_the_artefacts_name_is_the_codes() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"read nothing for {STALL}" in _flat(dockerfile)
    manifest = _flat((DEPLOY / "kubernetes" / "base" / "deployment.yaml").read_text())
    assert f"read nothing for {STALL}" in manifest
    docs = _flat(_long_start_section())
    assert f"within the last {STALL}" in docs
    assert f"{STALL} to be called stalled" in docs
    # the example of a stalled answer is one the code can give
    example = re.search(r"no database progress for (\d+) s", docs)
    assert example is not None and int(example.group(1)) >= STALL_AFTER


def test_the_uncounted_phase_the_docs_name_is_the_codes() -> None:
    assert UNCOUNTED_MOST == 3600
    assert "an hour at most" in _flat(_long_start_section())


def test_the_probe_figures_in_the_prose_are_the_manifests() -> None:
    container = _container()
    startup, live = container["startupProbe"], container["livenessProbe"]
    said = f"({startup['failureThreshold']} x {startup['periodSeconds']} s)"
    manifest = _flat((DEPLOY / "kubernetes" / "base" / "deployment.yaml").read_text())
    docs = _flat(_long_start_section())
    assert said in manifest and said in docs
    minutes = startup["failureThreshold"] * startup["periodSeconds"] / 60
    assert f"{minutes:.0f} minutes {said}" in docs
    assert f"{live['failureThreshold']} failures {live['periodSeconds']} s apart" in docs
    # "ended about 2 minutes after it stopped reading": the stall, then the failures
    ended = STALL_AFTER + live["failureThreshold"] * live["periodSeconds"]
    assert "about 2 minutes after it stopped reading" in docs and 90 <= ended <= 150
