"""The `idcard-ocr` command line, run as a user runs it: a separate process, stdout and stderr piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import pytest

from idcard_ocr.model import FIELD_NAMES, FRONT_FIELDS
from tools.synth import Sample

Render = Callable[[int, str], Sample]

_SCRIPT = Path(sys.executable).parent / "idcard-ocr"
# The installed entry point when there is one (it is in the venv), else the module.
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "idcard_ocr.cli"]
RECORD_KEYS = {"file", "side", "rotation", "fields", "checks", "time_ms"}
CHECK_KEYS = {"card_type", "risk", "quality", "warnings", "portrait"}  # issue 4: present when a card was found
FIELD_KEYS = {"value", "confidence", "box"}
# (seed, condition) of the good images: a front, a back, and a front in a nested folder.
GOOD = {"a.jpg": (0, "clean"), "b.jpg": (2, "clean"), "nested/c.jpg": (1, "clean")}


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # A pipe, not a terminal, as in a batch job; no COLUMNS inherited from the shell running pytest.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _message_lines(stderr: str) -> list[str]:
    """stderr lines other than the progress bar's ("reading ━━━ 3/3 ...")."""
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("reading ")]


def _records(stdout: str) -> dict[str, dict[str, Any]]:
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    recs = [json.loads(ln) for ln in lines]
    return {r["file"]: r for r in recs}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, render: Render) -> Path:
    d = tmp_path_factory.mktemp("cli") / "cards"
    (d / "nested").mkdir(parents=True)
    for name, (seed, cond) in GOOD.items():
        assert cv2.imwrite(str(d / name), render(seed, cond).image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    (d / "garbage.jpg").write_bytes(b"this is not an image, only some text\n" * 20)
    (d / "notes.txt").write_text("not an image suffix: must be skipped\n")
    return d


@pytest.fixture(scope="module")
def run_one_worker(folder: Path) -> subprocess.CompletedProcess[str]:
    return _run("read", str(folder))


def _truth_values(render: Render) -> list[str]:
    return [v for seed, cond in GOOD.values() for v in render(seed, cond).truth.fields.values()]


def test_one_json_line_per_good_image(
    folder: Path, run_one_worker: subprocess.CompletedProcess[str], render: Render
) -> None:
    recs = _records(run_one_worker.stdout)
    assert set(recs) == {str(folder / n) for n in GOOD}  # recursive; garbage and .txt give no record
    assert len(run_one_worker.stdout.splitlines()) == len(GOOD)
    for name, (seed, cond) in GOOD.items():
        r = recs[str(folder / name)]
        assert set(r) - CHECK_KEYS == RECORD_KEYS, name
        if r["side"] != "none":
            assert {"card_type", "risk", "quality", "warnings"} <= set(r), name
            assert r["risk"]["class"] in ("original", "temporary", "photocopy", "screen", "edited")
        assert set(r["fields"]) <= set(FIELD_NAMES), name
        for k, f in r["fields"].items():
            assert set(f) == FIELD_KEYS, (name, k)
            assert 0 <= f["confidence"] <= 1 and len(f["box"]) == 4, (name, k)
        truth = render(seed, cond).truth
        assert r["side"] == truth.side and r["rotation"] == truth.rotation, name
        assert {k: f["value"] for k, f in r["fields"].items()} == truth.fields, name
        assert isinstance(r["checks"], dict) and isinstance(r["time_ms"], (int, float)), name


def test_bad_file_one_line_error_and_exit_1(folder: Path, run_one_worker: subprocess.CompletedProcess[str]) -> None:
    assert run_one_worker.returncode == 1
    bad = str(folder / "garbage.jpg")
    err = run_one_worker.stderr
    naming = [ln for ln in err.splitlines() if "garbage.jpg" in ln]
    assert len(naming) == 1, f"expected one stderr line naming the bad file, got:\n{err}"
    line = naming[0]
    # The whole message on that one line: the word error, the full path and what is wrong with it.
    assert "error" in line.lower() and bad in line, f"error line does not carry the file's path:\n{err}"
    assert "decodable image" in line, f"error line does not say what is wrong:\n{err}"
    # Nothing else on stderr but the progress bar: the message is not wrapped onto further lines.
    assert _message_lines(err) == [line], f"the error spans several lines:\n{err}"
    assert "Traceback" not in err


def test_errors_print_no_field_values(run_one_worker: subprocess.CompletedProcess[str], render: Render) -> None:
    leaked = [v for v in _truth_values(render) if len(v) >= 2 and v in run_one_worker.stderr]
    assert not leaked, f"stderr shows field values: {leaked}"


def test_workers_give_the_same_records(folder: Path, run_one_worker: subprocess.CompletedProcess[str]) -> None:
    par = _run("read", "--workers", "2", str(folder))
    assert par.returncode == 1
    assert len([ln for ln in par.stderr.splitlines() if "garbage.jpg" in ln]) == 1, par.stderr

    def strip(recs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {f: {k: v for k, v in r.items() if k != "time_ms"} for f, r in recs.items()}

    assert strip(_records(par.stdout)) == strip(_records(run_one_worker.stdout))


def test_all_good_exit_0(folder: Path) -> None:
    # Files named one by one (not the folder), so the garbage file is not in the run.
    res = _run("read", str(folder / "a.jpg"), str(folder / "nested" / "c.jpg"))
    assert res.returncode == 0, res.stderr
    assert set(_records(res.stdout)) == {str(folder / "a.jpg"), str(folder / "nested" / "c.jpg")}
    assert "error" not in res.stderr.lower()


def test_portrait_and_card_crops_are_saved(folder: Path, tmp_path: Path, render: Render) -> None:
    res = _run("read", str(folder / "a.jpg"), "--portrait", str(tmp_path / "p"), "--card", str(tmp_path / "c"))
    assert res.returncode == 0, res.stderr
    side = render(*GOOD["a.jpg"]).truth.side
    cards = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert cards == [f"a_card0_{side}.jpg"]
    card = cv2.imread(str(tmp_path / "c" / cards[0]))
    assert card is not None and card.shape[1] > card.shape[0]  # straightened: landscape
    portraits = list((tmp_path / "p").iterdir())
    assert len(portraits) == (1 if side == "front" else 0)
    for p in portraits:
        crop = cv2.imread(str(p))
        assert crop is not None and crop.shape[0] > crop.shape[1]  # a portrait is taller than wide


def test_missing_file_is_reported_and_run_goes_on(folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_card.jpg"
    res = _run("read", str(missing), str(folder / "b.jpg"))
    assert res.returncode == 1
    assert set(_records(res.stdout)) == {str(folder / "b.jpg")}
    naming = [ln for ln in res.stderr.splitlines() if "no_such_card.jpg" in ln]
    assert len(naming) == 1 and str(missing) in naming[0], res.stderr
    assert "could not be read" in naming[0], res.stderr
    assert _message_lines(res.stderr) == naming, f"the error spans several lines:\n{res.stderr}"


def test_no_images_found(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing to read here\n")
    res = _run("read", str(tmp_path))
    assert res.returncode == 2
    assert res.stdout == ""
    assert "no image" in res.stderr.lower()


def test_sample_command() -> None:
    if not resources.files("idcard_ocr").joinpath("data/sample_front.jpg").is_file():
        pytest.skip("bundled sample card data/sample_front.jpg not there yet")
    res = _run("sample")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert set(r) - CHECK_KEYS == RECORD_KEYS
    assert r["side"] == "front"
    assert set(r["fields"]) == set(FRONT_FIELDS)
    assert r["checks"]["checksum"] is True


def test_any_file_name_is_printed_literally_and_the_run_goes_on(tmp_path: Path) -> None:
    """Names with rich markup or a newline, a FIFO, and a good image (issue 10): one error line per bad file."""
    d = tmp_path / "odd"
    (d / "a[").mkdir(parents=True)
    sample = resources.files("idcard_ocr") / "data" / "sample_front.jpg"
    (d / "good.jpg").write_bytes(sample.read_bytes())
    bad = ["a[/b].jpg", "[blink]x.jpg", "new\nline.jpg"]
    for name in bad:
        (d / name).write_bytes(b"not an image\n" * 10)
    os.mkfifo(d / "fifo.jpg")
    r = _run("read", str(d), "--workers", "2", timeout=120)
    assert r.returncode == 1
    assert set(_records(r.stdout)) == {str(d / "good.jpg")}
    errors = _message_lines(r.stderr)
    assert len(errors) == len(bad) + 1, errors  # one line each, the newline in a name included
    for name in [*bad, "fifo.jpg"]:
        literal = str(d / name).replace("\n", "\\n")
        assert any(literal in ln for ln in errors), (name, errors)
    assert any("not a regular file" in ln for ln in errors)
    assert "Warning" not in r.stderr
