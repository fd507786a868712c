"""A fuzz campaign that stays (issue 10, item 10): malformed requests to every route of a live server.

Hypothesis draws the seeds of bench/fuzzcases.py's generator (bodies, headers, query strings, images; see there;
a seed rather than every draw: hypothesis' own random is ~30x slower per case) and sends each case to a uvicorn
on loopback running the guarded protocol; a failure prints its seed and request. Every answer must
be its route's documented one (never an internal error, never 5xx but a documented busy/failure), and neither
the server's log nor uvicorn's may hold a traceback. Most cases use a reader that runs the library's real
decoder but no OCR; a few hundred use the real reader.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_helpers import live_server

from bench.fuzzcases import Connection, decode_reader, log_problems, make_case, mock_transport, problems, routes_of
from idcard_ocr.server import Settings, create_app
from idcard_ocr.server.app import default_read
from idcard_ocr.server.limits import guarded_protocol

FAST_CASES = 2500
REAL_CASES = 200


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += " Traceback " + repr(record.exc_info[1])
        self.lines.append(text)


class Target:
    def __init__(self, base: str, routes: list[tuple[str, str]]) -> None:
        url = urlparse(base)
        self.conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
        self.routes = routes
        self.sent = 0
        self.statuses: dict[int, int] = {}


def _serve(read_fn: object) -> Iterator[tuple[Target, _Lines]]:
    app = create_app(Settings(warm_up=False, queue_size=64), read_fn=read_fn,  # type: ignore[arg-type]
                     fetch_transport=mock_transport())
    lines = _Lines()
    with live_server(app, http=guarded_protocol(header_timeout=10, max_connections=50)) as base:
        # after uvicorn configured its logging (dictConfig drops the handlers of the loggers it names)
        loggers = [logging.getLogger(n) for n in ("idcard_ocr", "uvicorn", "uvicorn.error")]
        for lg in loggers:
            lg.addHandler(lines)
        try:
            target = Target(base, routes_of(app))
            yield target, lines
            target.conn.close()
        finally:
            for lg in loggers:
                lg.removeHandler(lines)


@pytest.fixture(scope="module")
def fast() -> Iterator[tuple[Target, _Lines]]:
    yield from _serve(decode_reader)


@pytest.fixture(scope="module")
def real(engine: object) -> Iterator[tuple[Target, _Lines]]:
    yield from _serve(default_read)


def _one(target: Target, lines: _Lines, seed: int) -> None:
    case = make_case(random.Random(seed), target.routes)
    answer = target.conn.send(case)
    target.sent += 1
    if answer is not None:
        target.statuses[answer.status] = target.statuses.get(answer.status, 0) + 1
    found = problems(case, answer) + log_problems(lines.lines)
    lines.lines.clear()
    assert not found, (found, case.method, case.path, case.headers, case.raw_head, case.body[:300])


@_settings(FAST_CASES)
@given(seed=st.integers(0, 2**63))
def test_fuzz_every_route_with_the_decoder(fast: tuple[Target, _Lines], seed: int) -> None:
    _one(*fast, seed)


def test_fuzz_reached_every_kind_of_answer(fast: tuple[Target, _Lines]) -> None:
    target = fast[0]
    assert target.sent >= FAST_CASES
    print("decoder reader:", sorted(target.statuses.items()))
    assert {200, 400, 404, 405, 413, 422, 460, 461, 462} <= set(target.statuses), target.statuses


@pytest.mark.e2e
@_settings(REAL_CASES)
@given(seed=st.integers(0, 2**63))
def test_fuzz_every_route_with_the_real_reader(real: tuple[Target, _Lines], seed: int) -> None:
    _one(*real, seed)


@pytest.mark.e2e
def test_the_real_reader_answered_its_share(real: tuple[Target, _Lines]) -> None:
    target, _lines = real
    assert target.sent >= REAL_CASES, target.sent
    assert target.statuses.get(200, 0) >= 10, target.statuses  # some images got through to a reading
    print("real reader:", sorted(target.statuses.items()))
