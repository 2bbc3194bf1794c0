"""A provider.domain longer than any DNS name is no public suffix, and is not kept
in the suffix lookup's cache: 4,096 distinct megabyte-long domains from a corpus
were pinned there for the life of the daemon (as `urls.host_key` already guards)."""

from __future__ import annotations

from support.traced import traced

from monitor.rules.suffixes import is_public_suffix


def test_an_overlong_name_is_no_suffix_and_is_not_cached() -> None:
    assert is_public_suffix("co.uk")  # the list loaded before measuring
    with traced() as mem:
        for n in range(50):
            name = f"{n}." + "a." * 50_000 + "co.uk"  # 100 kB each
            assert is_public_suffix(name) is False
            del name
    assert mem.grown < 1_000_000, mem  # 50 names of 100 kB would keep 5 MB


def test_a_longest_name_is_still_looked_up() -> None:
    label = "a" * 63
    name = ".".join([label, label, label, "b" * 55, "co.uk"])  # 253 characters
    assert len(name) == 253
    assert is_public_suffix(name) is False
    assert is_public_suffix("xn--55qx5d.xn--j6w193g") is True
