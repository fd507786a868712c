"""`idcard-ocr batch`: read a backlog of images into JSONL or Parquet, locally or on Ray, resumable.

    from idcard_ocr.batch import run
    run(Path("scans/"), Path("out.jsonl"))                          # a process per core on this machine
    run(Path("scans/"), Path("out/"), fmt="parquet", ray="auto")    # the Ray cluster RAY_ADDRESS names

One row per image (rows.COLUMNS): the record `read` prints for it, laid flat, or the file and its error. A rerun
with the same INPUT and OUTPUT reads only the images the output holds no row for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..records import IMAGE_SUFFIXES, expand
from .output import FORMATS, BatchError, open_output
from .rows import COLUMN_NAMES, COLUMNS, flat_row

__all__ = ["COLUMNS", "COLUMN_NAMES", "FORMATS", "BatchError", "Summary", "flat_row", "list_images", "run"]


@dataclass
class Summary:
    found: int  # image files INPUT names
    already: int  # of them, already in the output: skipped
    read: int  # read by this run
    failed: int  # of those, an error row


def list_images(input: Path) -> list[str]:
    """INPUT's image files: a folder (searched recursively), one image, or a text file of paths, one a line."""
    if input.is_dir() or input.suffix.lower() in IMAGE_SUFFIXES:
        files = [str(p) for p in expand([input])]
    elif input.is_file():
        files = [ln.strip() for ln in input.read_text(encoding="utf-8").splitlines() if ln.strip()]
    else:
        raise BatchError("INPUT does not exist")
    return list(dict.fromkeys(files))  # a path listed twice is read once


def run(
    input: Path,
    output: Path,
    *,
    fmt: str = "jsonl",
    ray: str | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    part_rows: int = 1000,
    on_error: Callable[[str, str], None] | None = None,
    console: Any = None,
) -> Summary:
    """Read every image of INPUT not yet in OUTPUT and append its row.

    ray: None for a local process pool, "local" for a Ray started here, "auto" or an address (ray://head:10001)
    to join a cluster; a Ray already initialized in this process is used as it is. workers: processes, or Ray
    actors (default: one per CPU); batch_size: images per Ray task (default: onray.task_size). on_error(file,
    message) for each error row; console: a rich Console for the local progress bar (Ray shows its own).
    """
    if ray is not None:
        from .onray import import_ray

        import_ray()  # fail before any work when the extra is missing
    out = open_output(output, fmt, part_rows)
    files = list_images(input)
    done = out.done()
    todo = [f for f in files if f not in done]
    summary = Summary(found=len(files), already=len(files) - len(todo), read=0, failed=0)
    if not todo:
        return summary
    try:
        for rows in _rows(todo, ray, workers, batch_size, console):
            out.write(rows)
            for r in rows:
                summary.read += 1
                if r["error"] is not None:
                    summary.failed += 1
                    if on_error is not None:
                        on_error(r["file"], r["error"])
    finally:
        out.close()
    return summary


def _rows(todo: list[str], ray: str | None, workers: int | None, batch_size: int | None, console: Any
          ) -> Iterator[list[dict[str, Any]]]:
    if ray is not None:
        from .onray import read_on_ray

        yield from read_on_ray(todo, ray, workers, batch_size)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .local import read_local

    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console, disable=console is None or len(todo) < 2,
    )
    with progress:
        task = progress.add_task("reading", total=len(todo))
        for rec in read_local(todo, workers or os.cpu_count() or 1):
            yield [flat_row(rec)]
            progress.advance(task)
