"""Pure readers of response bodies: image size from a prefix, HTML head facts."""

from monitor.content.html import (
    HtmlFacts,
    head_facts,
    is_html_content_type,
    is_image_content_type,
)
from monitor.content.image import MIN_SNIFF_BYTES, ImageInfo, sniff_image

__all__ = [
    "MIN_SNIFF_BYTES",
    "HtmlFacts",
    "ImageInfo",
    "head_facts",
    "is_html_content_type",
    "is_image_content_type",
    "sniff_image",
]
