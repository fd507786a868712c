"""The runtime choice (runtime.choose): its logic with made-up timings, never real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from idcard_ocr import runtime


class Timer:
    """A measure function with fixed ms per (backend, threads) that records what it was asked."""

    def __init__(self, ms: dict[tuple[str, int], float]) -> None:
        self.ms = ms
        self.calls: list[tuple[str, int]] = []

    def __call__(self, backend: str, threads: int) -> float:
        self.calls.append((backend, threads))
        return self.ms[(backend, threads)]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDCARD_OCR_BACKEND", raising=False)
    monkeypatch.setenv("IDCARD_OCR_THREADS", "2")
    monkeypatch.setattr(runtime, "available", lambda: ["onnxruntime", "openvino"])
    monkeypatch.setattr(runtime, "machine_busy", lambda: False)


def test_the_faster_runtime_wins_and_ties_go_to_onnxruntime() -> None:
    assert runtime.pick_backend({"onnxruntime": 420.0, "openvino": 380.0})[0] == "openvino"
    assert runtime.pick_backend({"onnxruntime": 380.0, "openvino": 420.0})[0] == "onnxruntime"
    assert runtime.pick_backend({"onnxruntime": 400.0, "openvino": 400.0})[0] == "onnxruntime"
    backend, why = runtime.pick_backend({"onnxruntime": 500.0, "openvino": 300.0})
    assert backend == "openvino" and "openvino 300 ms" in why and "onnxruntime 500 ms" in why


def test_the_fewest_threads_about_as_fast_as_the_fastest() -> None:
    assert runtime.pick_threads({1: 400.0, 2: 300.0}) == 2
    assert runtime.pick_threads({1: 320.0, 2: 300.0}) == 1  # within 10 %: the other core serves another read
    assert runtime.pick_threads({1: 300.0, 2: 320.0}) == 1
    assert runtime.pick_threads({1: 900.0, 2: 500.0, 4: 480.0}) == 2


def test_measured_once_then_cached(tmp_path: Path) -> None:
    cache = tmp_path / "runtime.json"
    t = Timer({("onnxruntime", 2): 300.0, ("openvino", 2): 450.0, ("onnxruntime", 1): 500.0})
    c = runtime.choose(measure=t, cache=cache)
    assert (c.backend, c.threads, c.source) == ("onnxruntime", 2, "measured")
    assert sorted(t.calls) == [("onnxruntime", 1), ("onnxruntime", 2), ("openvino", 2)]
    assert c.backend_ms == {"onnxruntime": 300.0, "openvino": 450.0} and c.thread_ms == {"1": 500.0, "2": 300.0}
    assert "onnxruntime 300 ms" in c.reason and "openvino 450 ms" in c.reason
    again = runtime.choose(measure=Timer({}), cache=cache)  # an empty timer would raise if asked
    assert (again.backend, again.threads, again.source, again.reason) == ("onnxruntime", 2, "cached", c.reason)
    t2 = Timer({("onnxruntime", 2): 600.0, ("openvino", 2): 450.0, ("openvino", 1): 460.0})
    fresh = runtime.choose(measure=t2, cache=cache, refresh=True)  # `idcard-ocr doctor`
    assert (fresh.backend, fresh.threads, fresh.source) == ("openvino", 1, "measured")
    assert runtime.choose(measure=Timer({}), cache=cache).backend == "openvino"


def test_another_thread_cap_is_measured_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "runtime.json"
    runtime.choose(measure=Timer({("onnxruntime", 2): 300.0, ("openvino", 2): 450.0, ("onnxruntime", 1): 500.0}),
                   cache=cache)
    monkeypatch.setenv("IDCARD_OCR_THREADS", "1")  # two workers on two cores: one thread each
    t = Timer({("onnxruntime", 1): 500.0, ("openvino", 1): 400.0})
    c = runtime.choose(measure=t, cache=cache)
    assert (c.backend, c.threads) == ("openvino", 1) and sorted(t.calls) == [("onnxruntime", 1), ("openvino", 1)]


def test_the_environment_forces_a_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDCARD_OCR_BACKEND", "OpenVINO")
    t = Timer({("openvino", 2): 900.0, ("openvino", 1): 1500.0})
    c = runtime.choose(measure=t, cache=tmp_path / "runtime.json")
    assert (c.backend, c.threads, c.source) == ("openvino", 2, "forced") and "IDCARD_OCR_BACKEND" in c.reason
    assert all(b == "openvino" for b, _ in t.calls)  # the other runtime is not even loaded
    monkeypatch.setenv("IDCARD_OCR_BACKEND", "tensorrt")
    with pytest.raises(ValueError):
        runtime.choose(measure=t, cache=tmp_path / "runtime.json")


def test_one_runtime_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "available", lambda: ["onnxruntime"])
    monkeypatch.setenv("IDCARD_OCR_THREADS", "1")
    c = runtime.choose(measure=Timer({("onnxruntime", 1): 400.0}), cache=tmp_path / "runtime.json")
    assert (c.backend, c.threads, c.source) == ("onnxruntime", 1, "only")


def test_a_broken_cache_file_is_measured_over(tmp_path: Path) -> None:
    cache = tmp_path / "runtime.json"
    cache.write_text("{not json")
    t = Timer({("onnxruntime", 2): 300.0, ("openvino", 2): 200.0, ("openvino", 1): 400.0})
    assert runtime.choose(measure=t, cache=cache).backend == "openvino"
    assert runtime.choose(measure=Timer({}), cache=cache).source == "cached"


def test_a_choice_measured_on_a_busy_machine_is_measured_again_when_quiet(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "runtime.json"
    monkeypatch.setattr(runtime, "machine_busy", lambda: True)
    # Timed under load, the second thread looks like no help.
    busy = runtime.choose(measure=Timer({("onnxruntime", 2): 2600.0, ("openvino", 2): 7300.0,
                                         ("onnxruntime", 1): 2300.0}), cache=cache)
    assert (busy.threads, busy.busy) == (1, True) and "busy" in busy.reason
    assert runtime.choose(measure=Timer({}), cache=cache).threads == 1  # still busy: the cached choice serves
    monkeypatch.setattr(runtime, "machine_busy", lambda: False)
    quiet = runtime.choose(measure=Timer({("onnxruntime", 2): 300.0, ("openvino", 2): 450.0,
                                          ("onnxruntime", 1): 500.0}), cache=cache)
    assert (quiet.threads, quiet.busy, quiet.source) == (2, False, "measured")
    assert runtime.choose(measure=Timer({}), cache=cache).source == "cached"
