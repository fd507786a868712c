"""Batch on Ray: Ray Data hands the file list to an actor pool, one warm engine per actor, one actor per CPU.

The images are read by the actors from their paths, so every node must see the files at the same path (a
shared file system). The rows come back to this process, which writes them (output.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from .. import records
from .output import BatchError
from .rows import flat_row

INSTALL = "pip install 'idcard-ocr[ray]'"


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise BatchError(f"--ray needs Ray Data: {INSTALL}") from e
    return ray


class Reader:
    """One actor: its own engine, loaded once, then a batch of paths at a time.

    Loaded, not warmed: the server's warm-up builds every input shape's state before its first request (about 4 s
    of CPU); a batch builds those its images need as it goes, as `read --workers` does.
    """

    def __init__(self, threads: int = 1) -> None:
        os.environ["IDCARD_OCR_THREADS"] = str(threads)  # before the engine exists: it reads this once
        from ..engine import get_engine

        get_engine()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        # One JSON string per row: Arrow need not guess column types from a batch that happens to be all null.
        return {"row": [json.dumps(flat_row(records.read_file(str(f))), ensure_ascii=False) for f in batch["file"]]}


def _connect(ray: Any, address: str, cpus: int | None) -> bool:
    """Start or join Ray; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():  # a caller (a test, a notebook) already chose the cluster
        return False
    if address == "local":
        # A Ray of our own on this machine, for this run: no dashboard, no usage report.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False, _node_ip_address="127.0.0.1")
        return True
    try:
        ray.init(address=address)  # "auto" (RAY_ADDRESS or the cluster on this node) or ray://head:10001
    except (ConnectionError, RuntimeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BatchError(f"cannot join the Ray cluster at {address!r}: {first}") from e
    return True


def task_size(files: int, actors: int) -> int:
    """Images per Ray task: about 1 % of an actor's share, 1 to 256.

    At the end of a run an actor that has drained the queue waits while another finishes the tasks it holds (up to
    two: one running, one queued); a task of 1 % of its share keeps that wait near 1 % of the run. Smaller tasks
    cost more Ray per image (a few ms each, measured); larger ones leave a core idle longer at the end (measured on
    200 images, 2 actors: tasks of 4 left one core idle 2.5 s at the end, tasks of 1 image 0.7 s).
    """
    return max(1, min(256, files // (100 * max(1, actors))))


def read_on_ray(
    files: list[str], address: str, actors: int | None = None, batch_size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Rows of the files, a Ray task at a time, as the actors finish them (in no particular order).

    batch_size: images per task (and per call of an actor), default task_size().
    """
    ray = import_ray()
    started = _connect(ray, address, actors)
    try:
        from ray.data import ActorPoolStrategy

        size = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        per_task = batch_size or task_size(len(files), size)
        # One block per task: Ray Data hands each actor whole blocks, and the rows come back (and are saved) a
        # task at a time. Only paths travel: each actor opens its images itself.
        ds = ray.data.from_items([{"file": f} for f in files], override_num_blocks=-(-len(files) // per_task))
        ds = ds.map_batches(
            Reader, batch_size=per_task, num_cpus=1,  # Reader() runs one inference thread: one CPU
            # two tasks in flight: the next one is queued at the actor when one ends, no round trip in between
            compute=ActorPoolStrategy(size=size, max_tasks_in_flight_per_actor=2),
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield [json.loads(s) for s in batch.column("row").to_pylist()]
    finally:
        if started:
            ray.shutdown()
