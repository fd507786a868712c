"""Shared fixtures: one OCR engine per test session; rendered cards and their readings made once per run.

The renderer lives in tools/ (outside the installed package); pyproject's `pythonpath = ["."]` makes it
importable as `tools.synth`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import pytest

# eas-prediction's generated protobuf modules need the pure-Python protobuf with protobuf >= 4 (onnxruntime's);
# set before anything in the session imports protobuf (ray does), whichever test file is collected first.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

if TYPE_CHECKING:
    from idcard_ocr.engine import Engine
    from idcard_ocr.model import CardChecks, Reading
    from idcard_ocr.pipeline import Detailed
    from tools.synth import Sample


@cache
def rendered(seed: int, condition: str) -> Sample:
    """make_sample(seed, condition), rendered once per test run. Callers must not modify the image."""
    from tools.synth import make_sample

    return make_sample(seed, condition)


@pytest.fixture(scope="session", autouse=True)
def _runtime_chosen() -> None:
    """The ONNX runtime choice (idcard_ocr.runtime), made before any test: at a machine's first start it times
    both runtimes on the bundled sample (cached after), which must not fall inside a test's own deadline (a
    live server's start-up, say). Cheap once cached: a small JSON file is read."""
    from idcard_ocr.runtime import choose

    choose()


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The process-wide OCR engine, loaded and warmed once for the whole session."""
    from idcard_ocr.engine import warm_up

    return warm_up()


@pytest.fixture(scope="session")
def detailed(engine: Engine) -> Callable[[int, str], Detailed]:
    """read_detailed(rendered(seed, condition)) without the card checks, once per run (the checks' tests
    assess it themselves, with the arguments they test)."""
    from idcard_ocr.pipeline import read_detailed

    @cache
    def _read(seed: int, condition: str) -> Detailed:
        return read_detailed(rendered(seed, condition).image, engine=engine, checks=False)

    return _read


@pytest.fixture(scope="session")
def assessed(
    detailed: Callable[[int, str], Detailed], engine: Engine
) -> Callable[[int, str], tuple[Detailed, CardChecks]]:
    """(detailed(seed, condition), its card checks with default arguments), once per run."""
    from idcard_ocr.checks import assess

    @cache
    def _assessed(seed: int, condition: str) -> tuple[Detailed, CardChecks]:
        d = detailed(seed, condition)
        return d, assess(d, engine=engine)

    return _assessed


@pytest.fixture(scope="session")
def render() -> Callable[[int, str], Sample]:
    """rendered(seed, condition): the cached renderer."""
    return rendered


@pytest.fixture(scope="session")
def read_rendered(engine: Engine) -> Callable[[int, str], Reading]:
    """The Reading of rendered(seed, condition), read once per run and shared by every test asking for it."""
    from idcard_ocr import read

    @cache
    def _read(seed: int, condition: str) -> Reading:
        return read(rendered(seed, condition).image, engine=engine)

    return _read
