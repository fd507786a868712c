"""Bounded recognition pool: reads run on worker threads, never on the event loop.

At most ``threads`` recognitions run at once and at most ``queue_size`` more wait; one more is refused
at once with `Busy`. A slot is held until the recognition really ends (not merely until its caller gives up),
so a client that disconnects cannot make the pool take on more work than it admits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from idcard_ocr.model import Reading

T = TypeVar("T")


class ReadFn(Protocol):
    """Reads one image as ``side``; ``images`` asks for the portrait and card crops too (base64 JPEG);
    ``rectify=False`` reads the image as a region already cut from a card."""

    def __call__(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading: ...


class Busy(Exception):
    """The pool and its queue are full."""


class Runner:
    def __init__(self, read_fn: ReadFn, threads: int, queue_size: int) -> None:
        self._read_fn = read_fn
        self.threads = threads
        self.capacity = threads + queue_size
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="idcard-read")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Recognitions running or waiting."""
        return self._pending

    def _release(self, _future: Future[Reading] | None = None) -> None:
        with self._lock:
            self._pending -= 1

    async def read(self, image: bytes, side: str, images: bool = False, rectify: bool = True) -> Reading:
        with self._lock:
            if self._pending >= self.capacity:
                raise Busy()
            self._pending += 1
        try:
            extra = {} if rectify else {"rectify": False}  # read functions that never see a crop need not know
            future = self._executor.submit(self._read_fn, image, side, images=images, **extra)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the pool outside the admission count (warm-up)."""
        return await asyncio.wrap_future(self._executor.submit(fn))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
