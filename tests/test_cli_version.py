"""`idcard-ocr --version` names the runtime in use and why, from the cached choice (it measures nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from idcard_ocr import __version__, runtime
from idcard_ocr.cli import app


def test_version_names_the_cached_runtime_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDCARD_OCR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("IDCARD_OCR_BACKEND", raising=False)
    monkeypatch.setenv("IDCARD_OCR_THREADS", "2")
    out = CliRunner().invoke(app, ["--version"])
    assert out.exit_code == 0 and f"idcard-ocr {__version__}" in out.stdout
    assert "not measured yet" in out.stdout
    timer = {("onnxruntime", 2): 300.0, ("openvino", 2): 700.0, ("onnxruntime", 1): 310.0}
    chosen = runtime.choose(measure=lambda b, n: timer[(b, n)]) if runtime.available() == ["onnxruntime", "openvino"] \
        else runtime.choose(measure=lambda b, n: 300.0)
    out = CliRunner().invoke(app, ["--version"])
    assert out.exit_code == 0
    assert f"runtime: {chosen.backend}, {chosen.threads} thread(s) per engine (cached: {chosen.reason})" in out.stdout
    monkeypatch.setenv("IDCARD_OCR_BACKEND", "nonsense")
    assert "IDCARD_OCR_BACKEND must be one of" in CliRunner().invoke(app, ["--version"]).stdout
