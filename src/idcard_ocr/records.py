"""One image file -> its record: the JSON line `read` prints and the row `batch` writes both come from here.

Runs in the CLI's process, its worker processes and Ray actors alike: errors come back as data, never raised.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".heic", ".heif"}


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            # (non-regular files with an image's name are passed on: read_file reports them)
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


def read_file(path: str, portrait_dir: str | None = None, card_dir: str | None = None) -> dict[str, Any]:
    """The record of one image file, or {"file", "error"} when it cannot be read (so the run goes on)."""
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


def literal(text: str) -> str:
    """A file name or message on one line as it is: control characters (a newline in a name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
