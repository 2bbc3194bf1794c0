"""An image whose header its format's spec calls invalid (hostile review R16).

A PNG whose IHDR says 0x0 was `ok` with no problem: zero was read as "unknown
size". W3C PNG 11.2.2 calls a zero width or height invalid, and so do a first
chunk that is not IHDR, an IHDR of another length or with a wrong CRC; libpng
refuses them all and every browser shows a broken image (Chromium 156,
checked headless with <img> and naturalWidth). Such an image is not an image:
`content_type_mismatch`, saying what is wrong, in `check`'s report and in the
daemon's history, never `image_dimensions_mismatch` against a made-up size.
The same for a JPEG of width 0 (T.81) and a WebP that breaks RFC 9649.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner
from daemon_harness import CLI, LinkServer, query, write_config
from support.images import png
from support.report_schema import assert_valid_report

from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def png_first_chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


IHDR_40x30 = struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0)
JPEG_SOF_WIDTH_0 = (
    b"\xff\xd8\xff\xe0\x00\x07JFIF\x00"
    + b"\xff\xc0\x00\x0b\x08\x00\x1e\x00\x00\x01\x01\x11\x00"  # SOF0: height 30, width 0
    + b"\xff\xda\x00\x02"
    + b"\x00" * 64
)
VP8L_VERSION_1 = b"\x2f" + struct.pack("<I", 39 | 29 << 14 | 1 << 29) + b"\x00" * 8  # 40x30
WEBP_VP8L_VERSION_1 = (
    b"RIFF"
    + struct.pack("<I", 12 + len(VP8L_VERSION_1))
    + b"WEBPVP8L"
    + struct.pack("<I", len(VP8L_VERSION_1))
    + VP8L_VERSION_1
)

# path -> (body, Content-Type, the problem's message, or None for a good image)
IMAGES: dict[str, tuple[bytes, str, str | None]] = {
    "good.png": (png(40, 30), "image/png", None),
    "zero.png": (png(0, 0), "image/png", "its PNG header is invalid: width 0 and height 0"),
    "height0.png": (png(40, 0), "image/png", "its PNG header is invalid: height 0"),
    "crc.png": (
        png_first_chunk(b"IHDR", IHDR_40x30, crc=0),
        "image/png",
        "its PNG header is invalid: IHDR CRC does not match its bytes",
    ),
    "long.png": (
        png_first_chunk(b"IHDR", IHDR_40x30 + b"\x00"),
        "image/png",
        "its PNG header is invalid: IHDR length 14, not 13",
    ),
    "text-first.png": (
        png_first_chunk(b"tEXt", b"a\x00b") + png(40, 30)[8:],
        "image/png",
        "its PNG header is invalid: the first chunk is tEXt, not IHDR",
    ),
    # a zero-size PNG behind another image type: browsers decode by the bytes
    "zero.webp": (png(0, 30), "image/webp", "its PNG header is invalid: width 0"),
    "width0.jpg": (JPEG_SOF_WIDTH_0, "image/jpeg", "its JPEG header is invalid: width 0"),
    "version1.webp": (
        WEBP_VP8L_VERSION_1,
        "image/webp",
        "its WebP header is invalid: VP8L version 1 (only 0 is defined)",
    ),
}


def corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    images = [{"url": f"http://img.test/{p}", "width": 40, "height": 30} for p in IMAGES]
    record = {
        "webUrl": "http://news.test/story",
        "title": "Story",
        "provider": {"name": "News", "domain": "news.test"},
        "images": images,
    }
    (root / "a.jsonl").write_text(json.dumps(record) + "\n")
    return root


async def answer(request: web.Request) -> web.Response:
    body, ctype, _ = IMAGES[request.path.lstrip("/")]
    return web.Response(body=body, content_type=ctype)


def images_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/{name}", answer)
    return app


class ImageServer(LinkServer):
    """The daemon harness's loopback server, answering with IMAGES."""

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return await answer(request)


async def test_check_reports_each_invalid_header_as_not_an_image(tmp_path: Path) -> None:
    server = TestServer(images_app(), host="127.0.0.1")
    await server.start_server()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor",
            "check",
            str(corpus(tmp_path / "corpus")),
            "--kinds",
            "image",
            "--format",
            "json",
            "--connect-to",
            f"::127.0.0.1:{server.port}",
            "--allow-network",
            "127.0.0.0/8",
            "--timeout",
            "5",
            "--retries",
            "0",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await server.close()
    report: dict[str, Any] = json.loads(out)
    assert_valid_report(report)
    assert proc.returncode == 1, err.decode()
    (article,) = report["articles"]
    by_path = {t["url"].rsplit("/", 1)[1]: t for t in article["targets"]}
    assert set(by_path) == set(IMAGES)
    for path, (_, ctype, message) in IMAGES.items():
        target = by_path[path]
        assert target["outcome"] == "ok", (path, target)
        if message is None:
            assert target["problems"] == [], (path, target)
            continue
        # one problem: not also a dimensions mismatch against a size never read
        assert [p["code"] for p in target["problems"]] == ["content_type_mismatch"], target
        assert target["problems"][0]["message"] == (
            f"expected an image, got Content-Type {ctype} but {message}"
        ), path


def test_the_daemon_records_it_in_the_history(tmp_path: Path) -> None:
    """`run --once`, then the database (`targets.last_problems`, which the status
    pages show) and `history`: every invalid image carries the code, the good one
    none. About 3 s: it starts the daemon."""
    with ImageServer() as site:
        cfg = write_config(
            tmp_path, site.port, kinds=["image"], connect_to=[f"img.test:80:127.0.0.1:{site.port}"]
        )
        corpus(tmp_path / "corpus")
        done = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    db = tmp_path / "data" / "article-monitor.db"
    problems = dict(query(db, "select url, last_problems from targets"))
    for path, (_, _, message) in IMAGES.items():
        expected = "" if message is None else "content_type_mismatch"
        assert problems[f"http://img.test/{path}"] == expected, (path, problems)
    data = str(tmp_path / "data")
    shown = CliRunner().invoke(
        cli, ["history", "http://img.test/zero.png", "--data-dir", data, "--format", "json"]
    )
    assert shown.exit_code == 0, shown.output
    (target,) = json.loads(shown.output)["targets"]
    assert [r["problems"] for r in target["results"]] == [["content_type_mismatch"]]
