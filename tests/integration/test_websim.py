"""Smoke test of the benchmark's web simulator: it serves pages and images on
two loopback addresses, with HEAD and Range, and stops by itself."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import struct
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
WEBSIM = ROOT / "bench" / "websim.py"


def _load_websim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("websim", WEBSIM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["websim"] = module
    spec.loader.exec_module(module)
    return module


websim = _load_websim()


@pytest.fixture
async def simulator() -> AsyncIterator[dict[str, object]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WEBSIM),
        "--hosts",
        "2",
        "--port",
        "0",
        "--max-seconds",
        "30",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
        yield banner
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_serves_pages_and_images_on_two_addresses(simulator: dict[str, object]) -> None:
    port = simulator["port"]
    assert isinstance(port, int)
    assert simulator["hosts"] == ["127.0.0.1", "127.0.0.2"]
    web = websim.page_url("127.0.0.1", port, "story-1")
    amp = websim.page_url("127.0.0.1", port, "story-1", amp=True)
    image = websim.image_url("127.0.0.2", port, "pic-1", 1200, 675, "png")
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(web) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/html")
            page = await resp.text()
        assert f'<link rel="canonical" href="{web}">' in page
        assert f'<link rel="amphtml" href="{amp}">' in page
        assert websim.PAGE_BODY_MIN < len(page.encode()) < websim.PAGE_BODY_MAX + 10_000

        async with session.get(amp) as resp:
            assert "<html \u26a1" in await resp.text()

        async with session.get(image) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/png"
            body = await resp.read()
        assert websim.IMAGE_MIN <= len(body) <= websim.IMAGE_MAX + 100
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", body[16:24]) == (1200, 675)

        async with session.get(image, headers={"Range": "bytes=0-99"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
            assert await resp.read() == body[:100]

        async with session.head(image) as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) == len(body)

        async with session.get(f"http://127.0.0.2:{port}/nope") as resp:
            assert resp.status == 404

        async with session.get(f"http://127.0.0.2:{port}/__stats") as resp:
            stats = await resp.json()
        assert stats["requests"] >= 6
        assert stats["range"] == 1


async def test_a_mark_times_the_first_and_last_request_after_it(
    simulator: dict[str, object],
) -> None:
    """`/__stats?mark=1`: the first and last request after the mark, on the clock
    every process shares (a benchmark's start-up and end apart from its checking);
    the stats requests themselves are not among them."""
    port = simulator["port"]
    assert isinstance(port, int)
    page = websim.page_url("127.0.0.1", port, "story-1")
    stats_url = f"http://127.0.0.1:{port}/__stats"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def stats(query: str = "") -> dict[str, int]:
            async with session.get(stats_url + query) as resp:
                got: dict[str, int] = await resp.json()
                return got

        async with session.get(page) as resp:
            await resp.read()
        before_mark = time.monotonic_ns()
        marked = await stats("?mark=1")
        assert marked["mark_ns"] >= before_mark
        assert marked["first_ns"] == marked["last_ns"] == 0  # none since the mark
        assert (await stats())["first_ns"] == 0  # a stats request is not one
        sent = []
        for _ in range(3):
            sent.append(time.monotonic_ns())
            async with session.get(page) as resp:
                await resp.read()
        done = time.monotonic_ns()
        after = await stats()
    assert sent[0] <= after["first_ns"] <= sent[1]
    assert sent[2] <= after["last_ns"] <= done
    assert after["mark_ns"] == marked["mark_ns"]


def test_range_slices_span_parts_without_copying() -> None:
    parts = (b"abc", memoryview(b"defg"), b"hi")
    assert b"".join(websim.slice_parts(parts, 2, 8)) == b"cdefgh"
    assert b"".join(websim.slice_parts(parts, 0, 9)) == b"abcdefghi"
    assert websim.slice_parts(parts, 4, 4) == ()


@pytest.mark.parametrize("ext", ["png", "jpg", "gif", "webp"])
def test_image_headers_carry_the_size_of_the_path(ext: str) -> None:
    content = websim.Content()
    resp = content.respond(f"/img/x-{641}x{359}.{ext}", "127.0.0.1:1", None)
    data = b"".join(bytes(p) for p in resp.parts)
    if ext == "png":
        assert struct.unpack(">II", data[16:24]) == (641, 359)
    elif ext == "jpg":
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        assert struct.unpack(">HH", data[sof + 5 : sof + 9]) == (359, 641)
        assert data.endswith(b"\xff\xd9")
    elif ext == "gif":
        assert struct.unpack("<HH", data[6:10]) == (641, 359)
    else:
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
        assert struct.unpack("<HH", data[26:30]) == (641, 359)
