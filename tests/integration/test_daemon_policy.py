"""The daemon builds each kind's policy once per configuration, not per check (it was
3% of its CPU), and a reload's new settings apply at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.daemon import finish
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.vocabulary import Kind


def test_a_policy_is_built_once_per_kind_and_again_after_a_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Kind] = []
    real = finish.policy_for

    def counting(settings: finish.Settings, kind: Kind) -> finish.Policy:
        built.append(kind)
        return real(settings, kind)

    monkeypatch.setattr(finish, "policy_for", counting)
    values = {"paths": [tmp_path], "data_dir": tmp_path / "data", "down_after": 3}
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    try:
        for _ in range(5):
            assert daemon._policy(Kind.WEB).down_after == 3
        daemon._policy(Kind.IMAGE)
        assert built == [Kind.WEB, Kind.IMAGE]
        daemon.settings = daemon.settings.model_copy(update={"down_after": 7})  # SIGHUP
        assert daemon._policy(Kind.WEB).down_after == 7
        assert built == [Kind.WEB, Kind.IMAGE, Kind.WEB]
    finally:
        daemon.engine.dispose()
