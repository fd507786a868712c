"""Nothing is downloaded at run time: the models are the ones inside the pinned rapidocr wheel."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import cv2
import pytest

from tools.synth import Sample

Render = Callable[[int, str], Sample]
ROOT = Path(__file__).resolve().parents[1]

MODEL_FILES = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx", "ch_ppocr_mobile_v2.0_cls_mobile.onnx")

# Runs in a fresh interpreter: every way out to the network raises (and is recorded) before idcard_ocr is
# even imported; then the engine is made, warmed and used on one card.
_CHILD = r"""
import json, socket, sys

attempts = []

def _blocked(*args, **kwargs):
    attempts.append(repr(args[1:3] if args and isinstance(args[0], socket.socket) else args[:2]))
    raise OSError("network blocked by test_offline")

socket.socket.connect = _blocked
socket.socket.connect_ex = _blocked
socket.socket.sendto = _blocked
socket.create_connection = _blocked
socket.getaddrinfo = _blocked
socket.gethostbyname = _blocked

# Every rapidocr backend checks its model file through InferSession._verify_model: record what it loads.
from rapidocr.inference_engine import base

models = []
_verify = base.InferSession._verify_model

def _record(model_path):
    models.append(str(model_path))
    return _verify(model_path)

base.InferSession._verify_model = staticmethod(_record)

import idcard_ocr
from idcard_ocr.engine import warm_up

eng = warm_up()
r = idcard_ocr.read(sys.argv[1], engine=eng)
print(json.dumps({"side": r.side, "fields": {k: f.value for k, f in r.fields.items()}, "backend": eng.backend,
                  "attempts": attempts, "models": models}, ensure_ascii=False))
"""


def _rapidocr_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    assert spec is not None and spec.origin is not None, "rapidocr is not installed"
    return Path(spec.origin).parent


def test_pinned_versions() -> None:
    assert version("rapidocr") == "3.10.0"
    # Every exact pin in pyproject.toml is what is installed: results depend on the model runtimes.
    # (A regex, not tomllib: that is 3.11+ and the project supports 3.10.)
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    pins = dict(re.findall(r'^\s*"([A-Za-z0-9_.\-]+)\s*==\s*([^"\s;]+)"', text, re.MULTILINE))
    assert "rapidocr" in pins and "onnxruntime" in pins
    assert {name: version(name) for name in pins} == pins


def test_models_ship_in_the_wheel() -> None:
    models = _rapidocr_dir() / "models"
    for name in MODEL_FILES:
        f = models / name
        assert f.is_file() and f.stat().st_size > 100_000, f


@pytest.mark.parametrize("backend", ["default", "onnxruntime"])
def test_reads_with_the_network_blocked(backend: str, render: Render, tmp_path: Path) -> None:
    sample = render(0, "clean")
    img = tmp_path / "card.png"
    assert cv2.imwrite(str(img), sample.image)
    home = tmp_path / "home"
    home.mkdir()
    # An empty home and cache: no model may come from a download cache either.
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    env.pop("IDCARD_OCR_BACKEND", None)
    env.pop("IDCARD_OCR_CACHE_DIR", None)  # the runtime choice too is kept under the empty HOME's cache
    if backend != "default":
        env["IDCARD_OCR_BACKEND"] = backend
    res = subprocess.run([sys.executable, "-c", _CHILD, str(img)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["attempts"] == [], f"network use attempted: {out['attempts']}"
    if backend != "default":
        assert out["backend"] == backend
    assert out["side"] == sample.truth.side
    assert out["fields"] == sample.truth.fields
    # The three stage models are loaded from the installed package's own files.
    models = _rapidocr_dir() / "models"
    used = [Path(p) for p in out["models"]]
    # three per engine made: at first start the runtime choice (idcard_ocr.runtime) times both runtimes on
    # the bundled sample, each with its own engine, before the engine that reads
    assert len(used) % 3 == 0, out["models"]
    if backend == "default":
        assert (home / ".cache" / "idcard-ocr" / "runtime.json").is_file()  # the choice is kept for next time
    for p in used:
        assert p.parent.resolve() == models.resolve() and p.name in MODEL_FILES, p
    assert {p.name for p in used} == set(MODEL_FILES)
    assert not any(home.rglob("*.onnx")), "a model file was written under HOME"
