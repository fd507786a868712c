"""`idcard-ocr batch` (issue 11): on a local Ray, rows equal `idcard_ocr.read`'s; a corrupt file is an error row;
a rerun after a killed run reads only what the output lacks.

One Ray (2 CPUs, no dashboard, no usage report) for the session; 20 rendered cards, read once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

import idcard_ocr
from idcard_ocr import records
from idcard_ocr.batch import COLUMN_NAMES, BatchError, flat_row, run
from idcard_ocr.batch.output import ParquetOutput
from idcard_ocr.engine import Engine
from idcard_ocr.model import FIELD_NAMES, OTHER_FIELDS
from tools.synth import Sample

Rows = dict[str, dict[str, Any]]
# 20 cards: fronts, backs, both sides on one copy, rotated, photocopied, filmed off a screen, and no card at all.
CARDS = [(seed, cond) for seed in (3, 4) for cond in (
    "clean", "rot90", "rot180", "perspective", "skew", "busy_background", "photocopy", "screen", "both_sides",
    "neg_desk")]
CORRUPT = "corrupt.jpg"


def _same(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "time_ms"}  # the only column a second read may change


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]


def _by_file(rows: list[dict[str, Any]]) -> Rows:
    by = {r["file"]: r for r in rows}
    assert len(by) == len(rows), "a file has two rows"
    return by


def _copy(src: Path, dst: Path, n: int | None = None) -> Path:
    """src's files (the first n good ones and the corrupt one, when n is given) in a folder of their own."""
    dst.mkdir()
    good = sorted(p for p in src.iterdir() if p.name != CORRUPT)
    for p in [*good[:n], src / CORRUPT]:
        shutil.copy(p, dst / p.name)
    return dst


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory, render: Callable[[int, str], Sample]) -> Path:
    d = tmp_path_factory.mktemp("batch") / "cards"
    d.mkdir()
    for seed, cond in CARDS:
        assert cv2.imwrite(str(d / f"{cond}_{seed}.jpg"), render(seed, cond).image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    (d / CORRUPT).write_bytes(b"\xff\xd8\xff\xe0 a JPEG header and then nothing of an image" * 10)
    return d


@pytest.fixture(scope="module")
def readings(cards: Path, engine: Engine) -> dict[str, idcard_ocr.Reading]:
    """idcard_ocr.read of every good file, by its name."""
    return {p.name: idcard_ocr.read(p, engine=engine) for p in sorted(cards.iterdir()) if p.name != CORRUPT}


def expected(folder: Path, readings: dict[str, idcard_ocr.Reading]) -> Rows:
    """The row each file of `folder` must get: `read`'s record of the same image, laid flat."""
    return {str(folder / n): flat_row(records.reading_line(str(folder / n), r)) for n, r in readings.items()}


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    """A Ray of 2 CPUs on loopback for the whole session (batch.run uses the one this process started)."""
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_run(cards: Path, local_ray: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("ray_jsonl") / "out.jsonl"
    return run(cards, out, ray="local"), out


def test_ray_rows_equal_read_row_for_row(
    cards: Path, ray_run: tuple[Any, Path], readings: dict[str, idcard_ocr.Reading]
) -> None:
    summary, out = ray_run
    assert (summary.found, summary.already, summary.read, summary.failed) == (21, 0, 21, 1)
    rows = _by_file(_jsonl(out))
    assert set(rows) == {str(p) for p in cards.iterdir()}
    want = expected(cards, readings)
    for file, row in want.items():
        assert list(rows[file]) == list(COLUMN_NAMES), file
        assert _same(rows[file]) == _same(row), file
    # and by the Reading itself, not only through the shared record
    for name, r in readings.items():
        row = rows[str(cards / name)]
        assert row["side"] == r.side and row["rotation"] == r.rotation and row["error"] is None, name
        for f in FIELD_NAMES + OTHER_FIELDS:
            assert row[f] == r.value(f), (name, f)
        assert row["checksum"] == r.checks.checksum and row["card_type"] == r.card_type, name
        assert row["risk"] == (r.risk.kind if r.risk else None), name
    # the set covers what a batch meets: cards found and not, front and back, a photocopy
    assert {r.side for r in readings.values()} >= {"front", "back", "both", "none"}
    assert any(r.risk and r.risk.kind == "photocopy" for r in readings.values())


def test_a_corrupt_file_is_an_error_row_not_a_failed_job(cards: Path, ray_run: tuple[Any, Path]) -> None:
    _, out = ray_run
    row = _by_file(_jsonl(out))[str(cards / CORRUPT)]
    assert row["error"] is not None and "decodable image" in row["error"]
    assert all(v is None for k, v in row.items() if k not in ("file", "error"))


def test_ray_resume_reads_only_what_the_parquet_output_lacks(
    cards: Path, local_ray: Any, tmp_path: Path, readings: dict[str, idcard_ocr.Reading]
) -> None:
    import pyarrow.parquet as pq

    folder = _copy(cards, tmp_path / "cards")
    want = expected(folder, readings)
    want[str(folder / CORRUPT)] = flat_row(records.read_file(str(folder / CORRUPT)))
    done = sorted(f for f in want if not f.endswith(CORRUPT))[:8]  # the corrupt file is read: one error row
    # What a killed run leaves: one finished part file, and a part it was still writing.
    out = tmp_path / "out"
    part = ParquetOutput(out)
    part.write([want[f] for f in done])
    part.close()
    (out / ".part-killed-00001.parquet.tmp").write_bytes(b"PAR1 half a part")
    # Were any of the done images read again, its row would now say it is not an image.
    for f in done:
        Path(f).write_bytes(b"overwritten after it was read")

    summary = run(folder, out, fmt="parquet", ray="local")

    assert (summary.found, summary.already, summary.read, summary.failed) == (21, 8, 13, 1)
    assert not list(out.glob(".*.tmp"))
    rows = _by_file(pq.read_table(out).to_pylist())
    assert set(rows) == set(want)
    for file, row in want.items():
        assert _same(rows[file]) == _same(row), file


def test_local_resume_after_a_killed_run_reads_only_what_is_missing(
    cards: Path, tmp_path: Path, readings: dict[str, idcard_ocr.Reading], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy(cards, tmp_path / "cards", n=9)
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "idcard_ocr.cli", "batch", str(folder), str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_bytes().count(b"\n") >= 2) and proc.poll() is None:
            assert time.monotonic() < deadline, "the run wrote no row"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    with open(out, "ab") as f:
        f.write(b'{"file": "' + str(folder).encode() + b'/cut-by-the-kill')  # a row the kill cut in half
    before = _jsonl_prefix(out)
    assert 2 <= len(before) < 10

    read: list[str] = []
    real = records.read_file

    def counted(path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        read.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(records, "read_file", counted)
    summary = run(folder, out, workers=1)

    missing = {str(p) for p in folder.iterdir()} - {r["file"] for r in before}
    assert sorted(read) == sorted(missing)
    assert (summary.already, summary.read, summary.failed) == (len(before), len(missing), 1)
    rows = _jsonl(out)  # every line whole again: the cut one dropped
    assert rows[: len(before)] == before
    want = {f: r for f, r in expected(folder, readings).items() if Path(f).exists()}
    by = _by_file(rows)
    assert set(by) == {str(p) for p in folder.iterdir()}
    for file, row in want.items():
        assert _same(by[file]) == _same(row), file


def _jsonl_prefix(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a JSONL file (a last line without its newline is not one)."""
    data = path.read_bytes()
    return [json.loads(ln) for ln in data[: data.rfind(b"\n") + 1].splitlines()]


def test_without_the_extra_ray_and_parquet_say_how_to_install_it(
    cards: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as without the extra
    with pytest.raises(BatchError, match=r"idcard-ocr\[ray\]"):
        run(cards, tmp_path / "out.jsonl", ray="auto")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(BatchError, match=r"idcard-ocr\[ray\]"):
        run(cards, tmp_path / "out", fmt="parquet")
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out").exists()


def test_nothing_to_read_and_a_bad_format_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    for args, says in (([str(tmp_path), str(tmp_path / "o.jsonl")], "no image"),
                       ([str(tmp_path), str(tmp_path / "o"), "--format", "csv"], "unknown format")):
        r = subprocess.run([sys.executable, "-m", "idcard_ocr.cli", "batch", *args], capture_output=True, text=True,
                           env=env, stdin=subprocess.DEVNULL, timeout=120)
        assert r.returncode == 2 and says in r.stderr.lower() and "Traceback" not in r.stderr, r.stderr


def test_the_local_pool_runs_after_the_caller_used_opencv(cards: Path, tmp_path: Path) -> None:
    """A forked child of a process whose OpenCV thread pool ran hangs in its first cv2 call: batch must not fork it."""
    folder = _copy(cards, tmp_path / "cards", n=2)
    script = (
        "import sys, numpy as np, cv2\n"
        "from pathlib import Path\n"
        "from idcard_ocr.batch import run\n"
        "img = np.zeros((2000, 2000, 3), np.uint8)\n"
        "for _ in range(3):\n"
        "    cv2.GaussianBlur(cv2.resize(img, (1500, 1500)), (5, 5), 0)\n"
        "s = run(Path(sys.argv[1]), Path(sys.argv[2]), workers=2)\n"
        "print(s.read, s.failed)\n"
    )
    # its own process group: were the pool's children to hang, they are killed with it, not left behind
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder), str(tmp_path / "out.jsonl")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the local pool hung")
    assert proc.returncode == 0, err[-2000:]
    assert out.split() == ["3", "1"]  # two cards and the corrupt file, all read
