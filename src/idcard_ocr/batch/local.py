"""Batch on this machine: a process pool, one engine per process, as `read --workers` runs."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .. import records
from ..runtime import threads_per_worker


def read_local(files: list[str], workers: int) -> Iterator[dict[str, Any]]:
    """The record of each file (records.read_file), in the order they are done."""
    if workers <= 1:
        for f in files:
            yield records.read_file(f)
        return
    # each process has its own engine: share the cores among them rather than oversubscribe (as `read` does)
    os.environ.setdefault("IDCARD_OCR_THREADS", str(threads_per_worker(workers)))
    todo = iter(files)
    # Not plain fork: a process that has used OpenCV's thread pool (a caller that rendered or resized images first)
    # forks children that hang in their first cv2 call. A fork server is a fresh process: its children start clean.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        # A few files per worker in flight, not the whole backlog: a million paths are not a million futures.
        pending: set[Future[dict[str, Any]]] = set()
        while True:
            for f in todo:
                pending.add(pool.submit(records.read_file, f))
                if len(pending) >= 4 * workers:
                    break
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
