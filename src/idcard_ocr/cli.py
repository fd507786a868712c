"""idcard-ocr command line: `read` files or folders to JSON lines, `batch` a backlog (locally or on Ray), `serve`
the HTTP API."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .records import expand, literal, read_file, reading_line
from .runtime import threads_per_worker

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Read Chinese resident ID cards, offline.")
_err = Console(stderr=True, soft_wrap=True)  # one line per error, however long


@app.command()
def read(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (searched recursively)")],
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Parallel processes")] = 1,
    portrait: Annotated[Path | None, typer.Option("--portrait", help="Save each portrait crop here")] = None,
    card: Annotated[Path | None, typer.Option("--card", help="Save each straightened card here")] = None,
) -> None:
    """Recognize images and write one JSON line per image to stdout.

    Exit code: 0 when every image was read, 1 when some could not be (one error line each on stderr), 2 when
    no image file was given or found.
    """
    for folder in (portrait, card):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in expand(paths)]
    one = partial(read_file, portrait_dir=str(portrait) if portrait else None, card_dir=str(card) if card else None)
    if not files:
        _err.print("[red]error:[/] no image files found")
        raise typer.Exit(2)
    failed = 0
    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=_err, disable=len(files) < 2,
    )
    with progress:
        task = progress.add_task("reading", total=len(files))
        if workers > 1:
            # each process has its own engine: share the cores among them rather than oversubscribe
            os.environ.setdefault("IDCARD_OCR_THREADS", str(threads_per_worker(workers)))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results: Iterator[dict[str, Any]] = pool.map(one, files)
                failed += _emit(results, progress, task)
        else:
            failed += _emit(map(one, files), progress, task)
    if failed:
        raise typer.Exit(1)


def _emit(results: Iterator[dict[str, Any]], progress: Progress, task: Any) -> int:
    failed = 0
    for rec in results:
        if "error" in rec:
            failed += 1
            _err.print(f"[red]error:[/] {escape(literal(rec['file']))}: {escape(literal(rec['error']))}",
                       highlight=False)
        else:
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        progress.advance(task)
    return failed


def _runtime_line() -> str:
    """Which runtime reads, and why (the cached measurement; nothing is measured here)."""
    from .runtime import cached

    try:
        c = cached()
    except ValueError as e:  # an unknown IDCARD_OCR_BACKEND
        return f"runtime: {e}"
    if c is None:
        return "runtime: not measured yet on this machine (chosen at first read, or run `idcard-ocr doctor`)"
    return f"runtime: {c.backend}, {c.threads} thread(s) per engine ({c.source}: {c.reason})"


def _version(value: bool) -> None:
    if value:
        from . import __version__

        sys.stdout.write(f"idcard-ocr {__version__}\n{_runtime_line()}\n")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and the runtime in use, then exit")] = False,
) -> None:
    """Read Chinese resident ID cards, offline."""


@app.command()
def doctor() -> None:
    """Time both ONNX runtimes (and thread counts) on the bundled sample, keep the faster, print why."""
    from .runtime import cache_path, choose

    c = choose(refresh=True)
    sys.stdout.write(json.dumps({**c.as_dict(), "cache": str(cache_path())}, ensure_ascii=False, indent=1) + "\n")


@app.command()
def batch(
    input: Annotated[Path, typer.Argument(help="A folder (searched recursively), an image, or a text file of paths")],
    output: Annotated[Path, typer.Argument(help="JSONL file, or a directory of Parquet part files")],
    ray: Annotated[str | None, typer.Option(
        "--ray", help="Run on Ray: 'local' (start one here), 'auto' (RAY_ADDRESS or this node's cluster) or an "
        "address such as ray://head:10001")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet")] = "jsonl",
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", min=1, help="Processes, or Ray actors (default: one per CPU)")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Images per Ray task (default: 1 % of an actor's share, 1 to 256)")] = None,
) -> None:
    """Read every image of INPUT into OUTPUT, one row per image; a rerun reads only what OUTPUT lacks.

    Exit code: 0 when every image this run read was read, 1 when some could not be (an error row each, and one
    line on stderr), 2 when no image file was found or the run could not start.
    """
    from .batch import BatchError, run

    def report(file: str, error: str) -> None:
        _err.print(f"[red]error:[/] {escape(literal(file))}: {escape(literal(error))}", highlight=False)

    try:
        s = run(input, output, fmt=fmt.lower(), ray=ray, workers=workers, batch_size=batch_size, on_error=report,
                console=_err)
    except BatchError as e:
        _err.print(f"[red]error:[/] {escape(literal(str(e)))}", highlight=False)
        raise typer.Exit(2) from None
    if not s.found:
        _err.print("[red]error:[/] no image files found")
        raise typer.Exit(2)
    _err.print(f"{s.found} images: {s.already} already in the output, {s.read} read, {s.failed} could not be",
               highlight=False)
    if s.failed:
        raise typer.Exit(1)


@app.command()
def sample() -> None:
    """Read the bundled synthetic sample card and print its JSON line."""
    from importlib import resources

    from . import read as read_image

    data = resources.files("idcard_ocr").joinpath("data/sample_front.jpg").read_bytes()
    record = reading_line("sample_front.jpg", read_image(data))
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: one per core)")] = None,
    log_level: Annotated[str, typer.Option(help="critical, error, warning, info, debug or trace")] = "info",
) -> None:
    """Start the HTTP server: our /v1 API and the vendor-compatible routes."""
    from .server.app import serve as run

    run(host, port, workers, log_level.lower())


if __name__ == "__main__":
    app()
