"""Pure: media types of a Content-Type value (what a page or an image claims to be)."""

from __future__ import annotations


def media_type(value: str | None) -> str | None:
    """The lower-cased type/subtype of a Content-Type value, parameters dropped."""
    if value is None:
        return None
    mtype = value.split(";", 1)[0].strip().lower()
    return mtype or None


HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")


def is_html_content_type(value: str | None) -> bool:
    return media_type(value) in HTML_MEDIA_TYPES


def is_image_content_type(value: str | None) -> bool:
    mtype = media_type(value)
    return mtype is not None and mtype.startswith("image/") and len(mtype) > len("image/")
