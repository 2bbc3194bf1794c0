"""sniff_image: format and size from a prefix; never raises, never a wrong size."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.content.image import ImageInfo, sniff_image

# --- hand-written images (no Pillow needed) ----------------------------------


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def bmp(width: int, height: int, *, core: bool = False) -> bytes:
    if core:
        dib = struct.pack("<IHHHH", 12, width, height, 1, 24)
    else:
        dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    pixels = b"\x00" * (((width * 3 + 3) // 4) * 4 * abs(height))
    header = b"BM" + struct.pack("<IHHI", 14 + len(dib) + len(pixels), 0, 0, 14 + len(dib))
    return header + dib + pixels


def ico(*sizes: tuple[int, int]) -> bytes:
    entries = b""
    offset = 6 + 16 * len(sizes)
    for w, h in sizes:
        entries += struct.pack("<BBBBHHII", w % 256, h % 256, 0, 0, 1, 32, 8, offset)
        offset += 8
    return struct.pack("<HHH", 0, 1, len(sizes)) + entries + b"\x00" * 8 * len(sizes)


def jpeg_segments(*segments: bytes, sof: bytes) -> bytes:
    return b"\xff\xd8" + b"".join(segments) + sof + b"\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9"


def sof(marker: int, width: int, height: int) -> bytes:
    body = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def app(n: int, payload: bytes) -> bytes:
    return bytes([0xFF, 0xE0 + n]) + struct.pack(">H", len(payload) + 2) + payload


def exif_jpeg(base: bytes, size: int) -> bytes:
    """A JPEG with an APP1/EXIF segment of `size` bytes right after SOI."""
    payload = b"Exif\x00\x00" + b"II*\x00\x08\x00\x00\x00" + b"\x00" * (size - 14)
    return base[:2] + app(1, payload) + base[2:]


# --- Pillow-made images ------------------------------------------------------


def pil_image(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: Any) -> bytes:
    image_mod = pytest.importorskip("PIL.Image")
    features = pytest.importorskip("PIL.features")
    if fmt in ("WEBP", "AVIF") and not features.check(fmt.lower()):
        pytest.skip(f"Pillow built without {fmt}")
    buf = io.BytesIO()
    image_mod.new(mode, size, (200, 30, 30, 128)[: len(mode)]).save(buf, fmt, **options)
    return buf.getvalue()


@cache
def samples() -> dict[str, tuple[bytes, str, int, int]]:
    """name → (bytes, format, width, height) of real images of every supported format."""
    out: dict[str, tuple[bytes, str, int, int]] = {
        "png-hand": (png(7, 3), "png", 7, 3),
        "gif-hand": (gif(640, 480), "gif", 640, 480),
        "bmp-hand": (bmp(5, 4), "bmp", 5, 4),
        "bmp-top-down": (bmp(5, -4), "bmp", 5, 4),
        "bmp-core": (bmp(9, 2, core=True), "bmp", 9, 2),
        "ico-hand": (ico((16, 16), (256, 256), (48, 32)), "ico", 256, 256),
        "jpeg-hand-exif-rst-fill": (
            jpeg_segments(
                app(0, b"JFIF\x00\x01\x01"),
                b"\xff\xd0",  # a stray RST marker: no length
                app(1, b"Exif\x00\x00" + b"\xff" * 300),
                b"\xff\xff\xff",  # fill bytes before the next marker
                sof(0xC2, 1200, 630)[1:],
                sof=b"",
            ),
            "jpeg",
            1200,
            630,
        ),
        "svg-hand": (
            b'<?xml version="1.0"?>\n<!-- made by hand -->\n'
            b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">'
            b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60px"><rect/></svg>',
            "svg",
            120,
            60,
        ),
    }
    try:
        import PIL  # noqa: F401
    except ImportError:  # pragma: no cover - Pillow is in the dev extra
        return out
    from PIL import features

    made: dict[str, tuple[str, str, dict[str, Any]]] = {
        "png": ("PNG", "RGB", {}),
        "jpeg-baseline": ("JPEG", "RGB", {}),
        "jpeg-progressive": ("JPEG", "RGB", {"progressive": True}),
        "gif": ("GIF", "RGB", {}),
        "bmp": ("BMP", "RGB", {}),
        "ico": ("ICO", "RGBA", {"sizes": [(123, 45)]}),
    }
    if features.check("webp"):
        made |= {
            "webp-lossy-vp8": ("WEBP", "RGB", {}),
            "webp-lossless-vp8l": ("WEBP", "RGB", {"lossless": True}),
            "webp-alpha-vp8x": ("WEBP", "RGBA", {}),
        }
    if features.check("avif"):
        made |= {"avif": ("AVIF", "RGB", {}), "avif-alpha": ("AVIF", "RGBA", {})}
    for name, (fmt, mode, options) in made.items():
        data = pil_image(fmt, (123, 45), mode, **options)
        out[name] = (data, name.split("-")[0], 123, 45)
    big = pil_image("JPEG", (1200, 630), "RGB", progressive=True)
    out["jpeg-40k-exif"] = (exif_jpeg(big, 40_000), "jpeg", 1200, 630)
    return out


SAMPLE_NAMES = sorted(samples())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_whole_image_gives_format_and_size(name: str) -> None:
    data, fmt, width, height = samples()[name]
    assert sniff_image(data) == ImageInfo(fmt, width, height, complete=True)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_truncation_is_honest(name: str) -> None:
    """A prefix gives the right size or none, and `needed` always asks for more."""
    data, fmt, width, height = samples()[name]
    cuts = range(len(data)) if len(data) < 4096 else [*range(4096), *range(4096, len(data), 97)]
    for n in cuts:
        info = sniff_image(data[:n])
        if info is None:
            continue
        assert info.format == fmt, n
        assert info.invalid is None, n  # a cut valid header is short, not invalid
        if info.complete:
            assert (info.width, info.height) == (width, height), n
        else:
            assert info.width in (None, width) and info.height in (None, height), n
            if info.needed is not None:
                assert info.needed > n, n


def read_like_the_engine(data: bytes, *, cap: int, chunk: int) -> tuple[ImageInfo | None, int]:
    """Read chunks until the size is known, the sniffer gives up, or the cap."""
    got = b""
    info: ImageInfo | None = None
    while len(got) < min(cap, len(data)):
        target = len(got) + chunk
        if info is not None and info.needed is not None:
            target = max(target, info.needed)
        got = data[: min(target, cap)]
        info = sniff_image(got)
        if info is not None and (info.complete or info.needed is None):
            break
    return info, len(got)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_engine_loop_stops_early_with_the_size(name: str) -> None:
    data, fmt, width, height = samples()[name]
    info, read = read_like_the_engine(data, cap=64 * 1024, chunk=1024)
    assert info == ImageInfo(fmt, width, height, complete=True)
    if name != "jpeg-40k-exif":
        assert read <= 4096  # the size is in the first few hundred bytes


def test_big_exif_before_sof_asks_for_the_bytes_past_it() -> None:
    data = samples()["jpeg-40k-exif"][0]
    info = sniff_image(data[: 16 * 1024])
    assert info is not None
    assert (info.format, info.complete, info.width) == ("jpeg", False, None)
    assert info.needed is not None and 40_000 < info.needed < 41_000
    assert sniff_image(data[: info.needed + 600]) == ImageInfo("jpeg", 1200, 630, complete=True)


def test_big_exif_beyond_the_cap_stays_incomplete() -> None:
    data = samples()["jpeg-40k-exif"][0]
    info, read = read_like_the_engine(data, cap=32 * 1024, chunk=8192)
    assert read == 32 * 1024
    assert info is not None and info.format == "jpeg" and not info.complete


@pytest.mark.parametrize("marker", [m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)])
def test_every_sof_marker_carries_the_size(marker: int) -> None:
    data = jpeg_segments(app(0, b"JFIF\x00"), sof=sof(marker, 33, 22))
    assert sniff_image(data) == ImageInfo("jpeg", 33, 22, complete=True)


@pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC])
def test_dht_jpg_dac_are_skipped_not_read_as_frames(marker: int) -> None:
    fake = bytes([0xFF, marker]) + struct.pack(">H", 9) + b"\x08\x00\x05\x00\x07\x01\x00"
    data = jpeg_segments(fake, sof=sof(0xC0, 640, 360))
    assert sniff_image(data) == ImageInfo("jpeg", 640, 360, complete=True)


def test_jpeg_height_from_dnl_gives_width_only() -> None:
    info = sniff_image(jpeg_segments(sof=sof(0xC0, 300, 0)))
    assert info == ImageInfo("jpeg", 300, None, complete=False, needed=None)


def test_jpeg_scan_before_frame_is_corrupt() -> None:
    data = b"\xff\xd8\xff\xda\x00\x02" + b"\x00" * 64
    assert sniff_image(data) == ImageInfo("jpeg")


def test_avif_rotation_gives_the_displayed_size() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    features = pytest.importorskip("PIL.features")
    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    exif = image_mod.Exif()
    exif[0x0112] = 6  # rotate 90°: Pillow writes an irot property
    buf = io.BytesIO()
    image_mod.new("RGB", (300, 200)).save(buf, "AVIF", exif=exif)
    assert sniff_image(buf.getvalue()) == ImageInfo("avif", 200, 300, complete=True)


def test_heic_brand_is_named_heic() -> None:
    data = samples().get("avif")
    if data is None:
        pytest.skip("Pillow built without AVIF")
    raw = bytearray(data[0])
    brands = bytes(raw[8:32])
    raw[8:32] = brands.replace(b"avif", b"heic")
    assert sniff_image(bytes(raw)) == ImageInfo("heic", 123, 45, complete=True)


def test_mp4_video_is_not_an_image() -> None:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    assert sniff_image(ftyp + b"\x00\x00\x00\x08free" + b"\x00" * 64) is None


@pytest.mark.parametrize(
    ("svg", "expected"),
    [
        (b'<svg width="100" height="50">', ImageInfo("svg", 100, 50, complete=True)),
        (b"<svg width='100.0px' height=50>", ImageInfo("svg", 100, 50, complete=True)),
        (b'\xef\xbb\xbf  <SVG Width="3" HEIGHT="4"/>', ImageInfo("svg", 3, 4, complete=True)),
        (b'<svg width="100%" height="50">', ImageInfo("svg", None, 50)),
        (b'<svg width="10em" height="2.5">', ImageInfo("svg", None, None)),
        (b'<svg viewBox="0 0 10 10">', ImageInfo("svg", None, None)),
        (b'<svg width="0" height="5">', ImageInfo("svg", None, 5)),
        (b'<svg width="100" heig', ImageInfo("svg", needed=22)),
        (b"<!-- a comment with <svg width=1 height=1> -->", None),
        (b"<!doctype html><html><body><svg width=1 height=1></svg>", None),
        (
            b'<!DOCTYPE svg [ <!ENTITY x "y>"> ]><svg width="8" height="9">',
            ImageInfo("svg", 8, 9, complete=True),
        ),
        (b"<svgfoo width=1 height=1>", None),
    ],
)
def test_svg_size_from_plain_numbers_only(svg: bytes, expected: ImageInfo | None) -> None:
    assert sniff_image(svg) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!doctype html><html><head><title>Not found</title>",
        b'{"error": "not found"}',
        b"GIF8",
        b"\x00\x00\x01\x00\x00\x00",  # an icon directory with no icons
        b"BM" + b"\x00" * 12 + b"\x99\x00\x00\x00" + b"\x00" * 16,  # unknown DIB size
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
    ],
)
def test_non_images_are_none(data: bytes) -> None:
    assert sniff_image(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIH", ImageInfo("png", needed=16)),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", ImageInfo("png", needed=33)),
        (png(7, 3)[:32], ImageInfo("png", needed=33)),  # the CRC is not all there
        (b"GIF89a\x01", ImageInfo("gif", needed=10)),
        (b"RIFF\x00\x00\x00\x00WEBPALPH" + b"\x00" * 20, ImageInfo("webp")),
        (b"II*\x00\x08\x00\x00\x00", ImageInfo("tiff")),
        (b"\xff\xd8\xff", ImageInfo("jpeg", needed=6)),
    ],
)
def test_recognised_but_truncated_or_corrupt(data: bytes, expected: ImageInfo) -> None:
    assert sniff_image(data) == expected


def ihdr(
    width: int,
    height: int,
    depth: int = 8,
    colour: int = 0,
    rest: bytes = b"\x00\x00\x00",
    *,
    length: int = 13,
    kind: bytes = b"IHDR",
    crc: int | None = None,
) -> bytes:
    """A PNG signature and first chunk: by default a valid IHDR."""
    data = struct.pack(">II", width, height) + bytes([depth, colour]) + rest
    crc = zlib.crc32(kind + data) if crc is None else crc
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", length) + kind + data + struct.pack(">I", crc)


# What W3C PNG 11.2.2 (and 5.6: IHDR comes first) calls invalid, and Chromium
# 156 shows as a broken image (checked with <img> and naturalWidth, headless).
INVALID_PNG = {
    "width 0": ihdr(0, 3),
    "height 0": ihdr(7, 0),
    "width 0 and height 0": ihdr(0, 0),
    "width 2147483648 (over 2^31-1)": ihdr(2**31, 3),
    "height 4294967295 (over 2^31-1)": ihdr(7, 2**32 - 1),
    "IHDR CRC does not match its bytes": ihdr(7, 3, crc=0),
    "IHDR length 14, not 13": ihdr(7, 3, length=14),
    "IHDR length 0, not 13": ihdr(7, 3, length=0),
    "the first chunk is IDAT, not IHDR": ihdr(7, 3, kind=b"IDAT"),
    "the first chunk is tEXt, not IHDR": ihdr(7, 3, kind=b"tEXt"),
    "the first chunk is CgBI, not IHDR": ihdr(7, 3, kind=b"CgBI"),  # Apple's, no browser's
    "the first chunk is 0x6c3e3c68, not IHDR": b"\x89PNG\r\n\x1a\n<html><head>" + b"x" * 40,
    "colour type 0 with bit depth 3": ihdr(7, 3, depth=3),
    "colour type 1 with bit depth 8": ihdr(7, 3, colour=1),
    "colour type 2 with bit depth 4": ihdr(7, 3, depth=4, colour=2),
    "colour type 3 with bit depth 16": ihdr(7, 3, depth=16, colour=3),
    "compression method 1 (only 0 is defined)": ihdr(7, 3, rest=b"\x01\x00\x00"),
    "filter method 64 (only 0 is defined)": ihdr(7, 3, rest=b"\x00\x40\x00"),  # MNG's
    "interlace method 2 (only 0 and 1 are defined)": ihdr(7, 3, rest=b"\x00\x00\x02"),
}


@pytest.mark.parametrize("why", sorted(INVALID_PNG))
def test_png_header_that_breaks_the_spec_is_invalid(why: str) -> None:
    data = INVALID_PNG[why]
    assert sniff_image(data) == ImageInfo("png", invalid=why)
    assert sniff_image(data + b"\x00" * 4096) == ImageInfo("png", invalid=why)


def test_png_of_the_largest_size_the_spec_allows_keeps_it() -> None:
    assert sniff_image(ihdr(2**31 - 1, 2**31 - 1)) == ImageInfo(
        "png", 2**31 - 1, 2**31 - 1, complete=True
    )


PNG_DEPTHS = [
    (c, d)
    for c, ds in {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}.items()
    for d in ds
]


@settings(max_examples=300)
@given(
    st.integers(1, 2**31 - 1),
    st.integers(1, 2**31 - 1),
    st.sampled_from(PNG_DEPTHS),
    st.sampled_from([0, 1]),
)
def test_any_valid_ihdr_keeps_its_size(
    width: int, height: int, colour_depth: tuple[int, int], interlace: int
) -> None:
    colour, depth = colour_depth
    data = ihdr(width, height, depth, colour, bytes([0, 0, interlace]))
    assert sniff_image(data) == ImageInfo("png", width, height, complete=True)


@settings(max_examples=200)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.booleans())
def test_any_zero_png_dimension_is_flagged(width: int, height: int, zero_width: bool) -> None:
    width, height = (0, height) if zero_width else (width, 0)
    info = sniff_image(ihdr(width, height))
    assert info is not None and info.invalid is not None and not info.complete
    assert ("width 0" if zero_width else "height 0") in info.invalid
    assert (info.width, info.height) == (None, None)


@settings(max_examples=200)
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1), st.integers(12, 32), st.integers(0, 7))
def test_any_flipped_bit_in_the_ihdr_is_never_read_as_a_size(
    width: int, height: int, byte: int, bit: int
) -> None:
    """The CRC catches every single-bit error in the chunk's type, data and CRC:
    a damaged header never gives a size (a flip in the type is another chunk)."""
    raw = bytearray(ihdr(width, height))
    raw[byte] ^= 1 << bit
    info = sniff_image(bytes(raw))
    assert info is not None and info.format == "png" and info.invalid is not None


def test_jpeg_of_width_0_is_invalid() -> None:
    """T.81 B.2.2: X is 1-65535 (Y may be 0, given later by DNL); libjpeg refuses X = 0."""
    data = jpeg_segments(app(0, b"JFIF\x00"), sof=sof(0xC0, 0, 22))
    assert sniff_image(data) == ImageInfo("jpeg", invalid="width 0")
    data = jpeg_segments(app(0, b"JFIF\x00"), sof=sof(0xC2, 0, 0))
    assert sniff_image(data) == ImageInfo("jpeg", invalid="width 0")


def test_ico_picks_the_largest_icon_and_256_is_zero() -> None:
    assert sniff_image(ico((16, 16), (0, 0), (32, 32))) == ImageInfo("ico", 256, 256, complete=True)


# --- never raises --------------------------------------------------------------

MAGICS = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
    b"BM",
    b"\x00\x00\x01\x00",
    b"<svg ",
    b"<?xml ",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = sniff_image(data)
    assert result is None or isinstance(result, ImageInfo)


@settings(max_examples=500)
@given(st.sampled_from(MAGICS), st.binary(max_size=300))
def test_garbage_after_a_magic_never_raises(magic: bytes, tail: bytes) -> None:
    result = sniff_image(magic + tail)
    if result is not None and result.complete:
        assert result.width is not None and result.width > 0
        assert result.height is not None and result.height > 0


@settings(max_examples=300)
@given(st.sampled_from(SAMPLE_NAMES), st.data())
def test_corrupted_real_images_never_raise(name: str, data: st.DataObject) -> None:
    raw = bytearray(samples()[name][0][:2048])
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    result = sniff_image(bytes(raw[:cut]))
    assert result is None or isinstance(result, ImageInfo)


# --- any size, every format's bit packing ------------------------------------------


def riff_webp(chunk: bytes, data: bytes) -> bytes:
    """A WebP file of one chunk of type `chunk`."""
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(data))
        + b"WEBP"
        + chunk
        + struct.pack("<I", len(data))
        + data
    )


def webp_vp8(w: int, h: int) -> bytes:
    frame = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", w, h) + b"\x00" * 10
    return riff_webp(b"VP8 ", frame)


def webp_vp8l(w: int, h: int) -> bytes:
    bits = (w - 1) | ((h - 1) << 14) | (1 << 28)
    return riff_webp(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8)


def webp_vp8x(w: int, h: int) -> bytes:
    data = b"\x10\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return riff_webp(b"VP8X", data)


BUILDERS: dict[str, tuple[Callable[[int, int], bytes], int, int]] = {
    # name: (builder, max width, max height)
    "png": (lambda w, h: png(w, h) if w * h < 10_000 else _png_header(w, h), 2**31 - 1, 2**31 - 1),
    "gif": (gif, 65535, 65535),
    "bmp": (
        lambda w, h: bmp(w, h)[:64] if w * h < 10_000 else _bmp_header(w, h),
        2**31 - 1,
        2**31 - 1,
    ),
    "jpeg": (lambda w, h: jpeg_segments(app(0, b"JFIF\x00"), sof=sof(0xC0, w, h)), 65535, 65535),
    "webp": (webp_vp8, 16383, 16383),
    "webp-vp8l": (webp_vp8l, 16384, 16384),
    "webp-vp8x": (webp_vp8x, 2**24, 2**24),
}


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc


def _bmp_header(w: int, h: int) -> bytes:
    dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + dib


@settings(max_examples=400)
@given(st.sampled_from(sorted(BUILDERS)), st.data())
def test_any_size_round_trips_and_no_prefix_lies(name: str, data: st.DataObject) -> None:
    build, max_w, max_h = BUILDERS[name]
    w = data.draw(st.integers(1, max_w), label="width")
    h = data.draw(st.integers(1, max_h), label="height")
    if name == "webp-vp8x":  # RFC 9649: a canvas of at most 2^32-1 pixels
        h = min(h, 0xFFFFFFFF // w)
    raw = build(w, h)
    fmt = name.split("-")[0]
    assert sniff_image(raw) == ImageInfo(fmt, w, h, complete=True)
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    info = sniff_image(raw[:cut])
    if info is not None and info.complete:
        assert (info.width, info.height) == (w, h)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (gif(0, 0), ImageInfo("gif")),  # a 0x0 screen: browsers use the frame's size
        (bmp(0, 4)[:64], ImageInfo("bmp")),
        (webp_vp8(0, 5), ImageInfo("webp")),
    ],
)
def test_zero_sizes_the_spec_does_not_forbid_stay_unknown(data: bytes, expected: ImageInfo) -> None:
    """Not flagged: GIF allows a 0x0 logical screen (Chromium decodes it); BMP and
    VP8 have no spec text making 0 invalid (Chromium refuses them, but the rule
    is spec-invalid and refused)."""
    assert sniff_image(data) == expected


def vp8l_version(version: int) -> bytes:
    raw = bytearray(webp_vp8l(33, 22))
    raw[24] |= version << 5  # the top 3 bits of the 32 after the signature
    return bytes(raw)


# What RFC 9649 (RFC 6386 for the VP8 frame) says MUST be, and Chromium 156
# refuses (checked with <img> and naturalWidth, headless)
INVALID_WEBP = {
    "VP8 frame without its start code 9d 01 2a": webp_vp8(33, 22).replace(
        b"\x9d\x01\x2a", b"\x9d\x01\x2b"
    ),
    "VP8L signature 0x2e, not 0x2f": webp_vp8l(33, 22).replace(
        b"L\x0d\x00\x00\x00\x2f", b"L\x0d\x00\x00\x00\x2e"
    ),
    "VP8L version 1 (only 0 is defined)": vp8l_version(1),
    "VP8L version 7 (only 0 is defined)": vp8l_version(7),
    "canvas 65536x65536 is over 2^32-1 pixels": webp_vp8x(65536, 65536),
    "canvas 16777216x257 is over 2^32-1 pixels": webp_vp8x(2**24, 257),
}


@pytest.mark.parametrize("why", sorted(INVALID_WEBP))
def test_webp_header_that_breaks_the_spec_is_invalid(why: str) -> None:
    assert sniff_image(INVALID_WEBP[why]) == ImageInfo("webp", invalid=why)


def test_webp_canvas_of_2_to_the_32_minus_1_pixels_is_valid() -> None:
    """65535 x 65537 = 2^32-1 exactly: the largest canvas RFC 9649 allows."""
    assert sniff_image(webp_vp8x(65535, 65537)) == ImageInfo("webp", 65535, 65537, complete=True)
