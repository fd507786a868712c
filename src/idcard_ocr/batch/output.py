"""Where batch rows go, written so that a killed run leaves a readable output a rerun can resume from.

JSONL: one file, append-only, flushed after every write; a line cut by a kill is dropped on resume.
Parquet: a directory of part files, each written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, Protocol

from .rows import COLUMNS

FORMATS = ("jsonl", "parquet")


class BatchError(Exception):
    """A batch run cannot start (a missing extra, an output it cannot use). The message says what to do."""


class Output(Protocol):
    def done(self) -> set[str]:
        """The files the output already holds a row for (the run's resume point)."""
        ...

    def write(self, rows: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


class JsonlOutput:
    def __init__(self, path: Path) -> None:
        if path.is_dir():
            raise BatchError(f"{path} is a directory: JSONL output is one file")
        self.path = path
        self._f: Any = None

    def done(self) -> set[str]:
        if not self.path.exists():
            return set()
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            # A kill mid-line: drop the cut line, so the next row starts on a line of its own.
            with open(self.path, "r+b") as f:
                f.truncate(end)
        files = set()
        for line in data[:end].splitlines():
            try:
                files.add(json.loads(line)["file"])
            except (ValueError, KeyError, TypeError):
                continue  # not a row of ours: its image is read again
        return files

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the run)
        self._f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise BatchError("Parquet output needs pyarrow: pip install 'idcard-ocr[ray]'") from e
    return pa, pq


def arrow_schema() -> Any:
    pa, _ = _arrow()
    kinds = {
        "str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
        "strs": pa.list_(pa.string()), "ints": pa.list_(pa.int64()), "box": pa.list_(pa.list_(pa.float64())),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS])


class ParquetOutput:
    """part-<run>-<n>.parquet files in a directory; a part every `part_rows` rows or `part_seconds` seconds."""

    def __init__(self, path: Path, part_rows: int = 1000, part_seconds: float = 60.0) -> None:
        self.pa, self.pq = _arrow()
        if path.exists() and not path.is_dir():
            raise BatchError(f"{path} is a file: Parquet output is a directory of part files")
        self.path, self.part_rows, self.part_seconds = path, part_rows, part_seconds
        self.schema = arrow_schema()
        self._rows: list[dict[str, Any]] = []
        self._since = time.monotonic()
        # Unique per run, so no rerun (in the same second, in the same process) writes over an earlier part.
        self._run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"
        self._parts = 0

    def done(self) -> set[str]:
        if not self.path.is_dir():
            return set()
        for tmp in self.path.glob(".part-*.tmp"):  # a part a killed run did not finish: its images are read again
            tmp.unlink()
        files: set[str] = set()
        for part in sorted(self.path.glob("part-*.parquet")):
            files.update(self.pq.read_table(part, columns=["file"]).column("file").to_pylist())
        return files

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._rows += rows
        if len(self._rows) >= self.part_rows or time.monotonic() - self._since >= self.part_seconds:
            self._flush()

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        self._since = time.monotonic()
        if not self._rows:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"part-{self._run}-{self._parts:05d}.parquet"
        tmp = self.path / f".{name}.tmp"
        self.pq.write_table(self.pa.Table.from_pylist(self._rows, schema=self.schema), tmp)
        os.replace(tmp, self.path / name)
        self._parts += 1
        self._rows = []


def open_output(path: Path, fmt: str, part_rows: int = 1000) -> Output:
    if fmt == "jsonl":
        return JsonlOutput(path)
    if fmt == "parquet":
        return ParquetOutput(path, part_rows)
    raise BatchError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
