"""Admission and the bounded recognition pool: reads run on worker threads, never on the event loop.

A request is admitted from its headers, before its body is read: it takes one of ``threads + queue_size``
places and reserves its declared body bytes against the worker's body budget; when either is spent it is
refused at once with `Busy`. The place is held until the request has ended *and* its recognition has really
ended (not merely until its caller gave up), so a client that disconnects cannot make the pool take on more
work than it admits. ``retry_after()`` is the queue's honest wait: places taken x the recent recognition time
(an exponentially weighted mean) / threads.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Protocol, TypeVar

from idcard_ocr.model import Reading
from idcard_ocr.server import memory

T = TypeVar("T")
_EWMA_WEIGHT = 0.2  # of the newest recognition time: about the last ten reads count
TRIM_AFTER_BYTES = 1 << 20  # a request that declared a body this large trims the heap when it leaves the worker idle


class ReadFn(Protocol):
    """Reads one image as ``side``; ``images`` asks for the portrait and card crops too (base64 JPEG);
    ``rectify=False`` reads the image as a region already cut from a card."""

    def __call__(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading: ...


class Busy(Exception):
    """The pool and its queue are full, or the worker's body budget is spent."""


class Ticket:
    """One admitted request: its place in the queue and the body bytes it may hold.

    Held by the request (until it answers) and by each recognition it starts (until that really ends);
    given back when the last holder lets go."""

    def __init__(self, runner: Runner, body_bytes: int) -> None:
        self._runner = runner
        self.body_bytes = body_bytes
        self._holders = 1
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self, _future: object = None) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._runner._give_back(self)

    def reserve(self, extra_bytes: int) -> None:
        """Reserve more body bytes (an image fetched from a URL); `Busy` when the budget is spent."""
        self._runner._reserve(self, extra_bytes)


# The ticket of the request being answered (set by common.answer); reads and URL fetches count against it.
current_ticket: ContextVar[Ticket | None] = ContextVar("idcard_ocr_ticket", default=None)


class Runner:
    def __init__(self, read_fn: ReadFn, threads: int, queue_size: int, body_budget: int = 1 << 62,
                 trim_memory: bool = False) -> None:
        self._read_fn = read_fn
        self._trim_memory = trim_memory
        self.threads = threads
        self.capacity = threads + queue_size
        self.body_budget = body_budget
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="idcard-read")
        self._pending = 0
        self._bytes = 0
        self._service_s = 0.0  # EWMA of recognition time; 0 until the first read ends
        self._untrimmed = False  # a read or a large body has freed memory since the heap was last trimmed
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Requests admitted and not yet done: reading their body, fetching, waiting for or in recognition."""
        return self._pending

    @property
    def body_bytes_in_flight(self) -> int:
        return self._bytes

    @property
    def service_seconds(self) -> float:
        """Recent recognition time (exponentially weighted mean; 0 before the first read)."""
        return self._service_s

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead x recent recognition time / threads."""
        return math.ceil(self._pending * self._service_s / self.threads)

    def admit(self, body_bytes: int = 0) -> Ticket:
        """A place for one request with ``body_bytes`` declared; `Busy` at once when there is none.

        A request alone in the worker is admitted whatever its size (its route's body cap still applies)."""
        with self._lock:
            if self._pending >= self.capacity or (self._bytes and self._bytes + body_bytes > self.body_budget):
                raise Busy()
            self._pending += 1
            self._bytes += body_bytes
        return Ticket(self, body_bytes)

    def _reserve(self, ticket: Ticket, extra: int) -> None:
        with self._lock:
            if self._bytes + extra > self.body_budget and self._bytes > ticket.body_bytes:
                raise Busy()
            self._bytes += extra
            ticket.body_bytes += extra

    def _give_back(self, ticket: Ticket) -> None:
        with self._lock:
            self._pending -= 1
            self._bytes -= ticket.body_bytes
            trim = self._pending == 0 and (self._untrimmed or ticket.body_bytes >= TRIM_AFTER_BYTES)
            if trim:
                self._untrimmed = False
        if self._trim_memory and trim:
            memory.trim()  # the worker fell idle after a read or a large body: hand back what they freed

    def _timed_read(self, image: bytes, side: str, images: bool, extra: dict[str, bool]) -> Reading:
        started = time.perf_counter()
        try:
            return self._read_fn(image, side, images=images, **extra)
        finally:
            took = time.perf_counter() - started
            with self._lock:
                self._service_s = took if not self._service_s else (
                    _EWMA_WEIGHT * took + (1 - _EWMA_WEIGHT) * self._service_s)
                idle = self._pending <= 1
                self._untrimmed = not idle
            if self._trim_memory and idle:  # nobody waits for this thread: hand freed memory back
                memory.trim()

    async def read(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
        """Read on the pool under the current request's ticket (or a place of its own when there is none)."""
        ticket = current_ticket.get()
        if ticket is None:
            ticket = self.admit(0)
        else:
            ticket.hold()
        try:
            extra = {} if rectify else {"rectify": False}  # read functions that never see a crop need not know
            future = self._executor.submit(self._timed_read, image, side, images, extra)
        except BaseException:
            ticket.release()
            raise
        future.add_done_callback(ticket.release)  # with no request around it, the recognition is the only holder
        return await asyncio.wrap_future(future)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the pool outside the admission count (warm-up)."""
        return await asyncio.wrap_future(self._executor.submit(fn))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
