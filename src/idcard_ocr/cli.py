"""idcard-ocr command line: `read` files or folders to JSON lines, `serve` the HTTP API."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Read Chinese resident ID cards, offline.")
_err = Console(stderr=True, soft_wrap=True)  # one line per error, however long

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".heic", ".heif"}


def _expand(paths: list[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            # (non-regular files with an image's name are passed on: _read_one reports them)
            yield from sorted(f for f in p.rglob("*") if not f.is_dir() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield p


def reading_line(file: str, reading: Any) -> dict[str, Any]:
    """The JSON-lines record for one image."""
    rec: dict[str, Any] = {
        "file": file,
        "side": reading.side,
        "rotation": reading.rotation,
        "fields": {k: f.model_dump() for k, f in reading.fields.items()},
        "checks": reading.checks.model_dump(exclude_none=True),
    }
    if reading.card_type is not None:
        rec["card_type"] = reading.card_type
    if reading.risk is not None:
        rec["risk"] = reading.risk.model_dump(by_alias=True, exclude_none=True)
    if reading.quality is not None:
        rec["quality"] = reading.quality.model_dump(exclude_none=True, exclude={"measures"})
    if reading.warnings is not None:
        rec["warnings"] = reading.warnings.model_dump(exclude_none=True)
    if reading.portrait is not None:
        rec["portrait"] = {"box": list(reading.portrait.box), "quad": reading.portrait.quad}
    rec["time_ms"] = reading.time_ms
    return rec


def _read_one(path: str, portrait_dir: str | None = None, card_dir: str | None = None) -> dict[str, Any]:
    # Runs in the parent or a worker process: errors come back as data so the run goes on.
    from .errors import IdCardOcrError
    from .pipeline import read_detailed

    warnings.simplefilter("ignore")  # library warnings (Pillow's, say) are not the user's business: errors are
    if Path(path).exists() and not Path(path).is_file():  # a FIFO or a device would block or stream forever
        return {"file": path, "error": "not a regular file"}
    try:
        d = read_detailed(Path(path))
        if portrait_dir or card_dir:
            _save_crops(path, d, portrait_dir, card_dir)
        return reading_line(path, d.reading)
    except IdCardOcrError as e:
        return {"file": path, "error": f"{type(e).__name__}: {e}"}
    except OSError as e:
        return {"file": path, "error": f"cannot open file ({e.strerror or type(e).__name__})"}


def _save_crops(path: str, d: Any, portrait_dir: str | None, card_dir: str | None) -> None:
    import cv2

    from .checks import portrait_crop

    stem = Path(path).stem
    if card_dir:
        for i, v in enumerate(d.views):
            cv2.imwrite(str(Path(card_dir) / f"{stem}_card{i}_{v.card.side}.jpg"), v.upright)
    if portrait_dir and d.reading.portrait is not None:
        from .checks import assess

        checks = assess(d)
        for i in range(len(checks.portraits)):
            crop = portrait_crop(d, checks, i)
            if crop is not None:
                cv2.imwrite(str(Path(portrait_dir) / f"{stem}_portrait{i}.jpg"), crop)


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
    files = [str(p) for p in _expand(paths)]
    one = partial(_read_one, portrait_dir=str(portrait) if portrait else None, card_dir=str(card) if card else None)
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
            os.environ.setdefault("IDCARD_OCR_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results: Iterator[dict[str, Any]] = pool.map(one, files)
                failed += _emit(results, progress, task)
        else:
            failed += _emit(map(one, files), progress, task)
    if failed:
        raise typer.Exit(1)


def _literal(text: str) -> str:
    """A file name or message on one line as it is: control characters (a newline in a name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _emit(results: Iterator[dict[str, Any]], progress: Progress, task: Any) -> int:
    failed = 0
    for rec in results:
        if "error" in rec:
            failed += 1
            _err.print(f"[red]error:[/] {escape(_literal(rec['file']))}: {escape(_literal(rec['error']))}",
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
