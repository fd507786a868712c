"""The bounded pool: the event loop stays free while reads run, a full queue answers busy at once."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from server_helpers import PNG, PNG_B64, FakeReader, live_server, make_app, make_reading

from idcard_ocr.server.runner import Busy, Runner


def test_loop_responsive_while_pool_full_and_busy_answers_at_once() -> None:
    gate = threading.Event()
    reader = FakeReader(gate=gate)
    app = make_app(reader, concurrency=1, queue_size=2, retry_after=2)
    runner: Runner = app.state.runner

    async def scenario(base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            reads = [
                asyncio.create_task(client.post("/v1/idcard", json={"image": PNG_B64})) for _ in range(3)
            ]
            deadline = time.monotonic() + 5
            while runner.pending < 3:  # one running, two queued
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)

            started = time.perf_counter()
            health = await client.get("/healthz")
            assert health.status_code == 200
            assert time.perf_counter() - started < 0.5

            started = time.perf_counter()
            busy = await client.post("/v1/idcard", json={"image": PNG_B64})
            assert busy.status_code == 429
            assert busy.headers["Retry-After"] == "2"
            face = await client.post(
                "/faceid/v1/ocridcard",
                data={"api_key": "k", "api_secret": "s"},
                files={"image": ("id.png", PNG, "image/png")},
            )
            assert face.status_code == 403
            assert face.json()["error_message"] == "CONCURRENCY_LIMIT_EXCEEDED"
            assert time.perf_counter() - started < 0.5
            assert "idcard_ocr_recognitions_pending 3.0" in (await client.get("/metrics")).text

            gate.set()
            done = await asyncio.gather(*reads)
            assert [r.status_code for r in done] == [200, 200, 200]

    with live_server(app) as base:
        asyncio.run(scenario(base))
    assert reader.max_running == 1
    assert runner.pending == 0


def test_slot_held_until_the_read_really_ends() -> None:
    gate = threading.Event()
    runner = Runner(FakeReader(gate=gate), threads=1, queue_size=0)

    async def scenario() -> None:
        task = asyncio.create_task(runner.read(PNG, "auto"))
        await asyncio.sleep(0.05)
        task.cancel()  # the client went away; the read itself goes on
        with pytest.raises(asyncio.CancelledError):
            await task
        assert runner.pending == 1
        with pytest.raises(Busy):
            await runner.read(PNG, "auto")
        gate.set()
        for _ in range(200):
            if runner.pending == 0:
                break
            await asyncio.sleep(0.01)
        assert runner.pending == 0
        assert (await runner.read(PNG, "auto")).side == make_reading().side

    asyncio.run(scenario())
    runner.shutdown()
