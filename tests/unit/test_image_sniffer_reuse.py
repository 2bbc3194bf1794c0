"""The image reader takes the sniffer's last answer instead of sniffing the same
bytes again (ImageSniffer.info_for): always the answer of sniffing them again."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from support.images import png

from monitor.content.image import sniff_image
from monitor.http.reading import ImageSniffer

_GIF = b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 20
_JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_SOF = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 300, 200) + b"\x03" + b"\x01\x22\x00" * 3
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"></svg>'
_STARTS = [png(1200, 675), _GIF, _JPEG_START + b"\x00" * 300 + _SOF, _SVG, b"<html>", b""]


@settings(max_examples=300)
@given(
    st.sampled_from(_STARTS),
    st.binary(max_size=3000),
    st.lists(st.integers(1, 700), min_size=1, max_size=12),
    st.integers(0, 3),
)
def test_info_for_is_sniffing_again(
    start: bytes, tail: bytes, chunks: list[int], more: int
) -> None:
    body = start + tail
    sniffer = ImageSniffer()
    buf = bytearray()
    pos = 0
    for size in chunks:  # as read_prefix feeds it: stops at the first True
        if pos >= len(body):
            break
        before = len(buf)
        buf += body[pos : pos + size]
        pos += size
        if sniffer.enough(buf, before):
            break
    # the reader's data: what was read, or (the rest of an image) a little more
    data = bytes(buf) + body[pos : pos + more * 100]
    assert sniffer.info_for(data) == (sniff_image(data) if data else None)
