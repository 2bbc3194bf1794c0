"""Tiny HTML pages for tests that serve them."""

from __future__ import annotations


def page(
    *,
    amp: bool = False,
    canonical: str | None = None,
    amphtml: str | None = None,
    title: str = "A story",
) -> str:
    """A small HTML page with the head facts the checker reads."""
    links = ""
    if canonical:
        links += f'<link rel="canonical" href="{canonical}">'
    if amphtml:
        links += f'<link rel="amphtml" href="{amphtml}">'
    marker = " ⚡" if amp else ""
    return (
        f"<!doctype html><html{marker}><head><meta charset=utf-8><title>{title}</title>"
        f"{links}</head><body><h1>{title}</h1><p>text</p></body></html>"
    )
