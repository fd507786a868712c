"""The one module that touches rapidocr / onnxruntime.

rapidocr's call flags (use_det/use_cls/use_rec) stick to its engine object, so we keep its three stage
models and call them directly instead: text detection, the 0/180 line classifier and recognition.
One Engine per process; it is not thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .runtime import Choice

_lock = threading.Lock()
_engine: Engine | None = None


@dataclass
class Line:
    """A detected text line: 4 corners (clockwise from top-left) and the detector's score."""

    quad: np.ndarray  # float32 (4, 2)
    score: float


def default_backend() -> str:
    """The runtime an engine uses by default: IDCARD_OCR_BACKEND, else the one measured faster here."""
    from .runtime import choose

    return choose().backend


class Engine:
    def __init__(self, threads: int | None = None, backend: str | None = None) -> None:
        """threads/backend: as given, else chosen by measurement on this machine (runtime.choose: cached)."""
        from .runtime import choose, max_threads

        self.choice: Choice | None = None
        if backend is None:
            self.choice = choose()
            backend = self.choice.backend
            threads = threads or self.choice.threads
        threads = threads or max_threads()
        from rapidocr import EngineType, RapidOCR  # heavy import, only when an engine is made

        n = threads
        self.backend = backend
        kind = {"openvino": EngineType.OPENVINO, "onnxruntime": EngineType.ONNXRUNTIME}[self.backend]
        params = {
            "Global.log_level": "error",
            "Det.engine_type": kind,
            "Cls.engine_type": kind,
            "Rec.engine_type": kind,
            "EngineConfig.onnxruntime.intra_op_num_threads": n,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.openvino.inference_num_threads": n,
            # OpenVINO pins its threads to cores by default: each worker process pins to the same first cores,
            # so two workers on two cores shared one (measured: 1.3 cores busy, not 2)
            "EngineConfig.openvino.enable_cpu_pinning": False,
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
        }
        self.threads = n
        # OpenCV's own pool (resizes, warps) would take every core in each worker process: share them alike
        import cv2

        cv2.setNumThreads(n)
        self.ocr = RapidOCR(params=params)
        self._det = self.ocr._load_det_model()
        self._cls = self.ocr._load_cls_model()
        self._rec = self.ocr._load_rec_model()

    def detect(self, img: np.ndarray, max_side: int = 960, box_thresh: float = 0.5) -> list[Line]:
        """Text lines in img (BGR). The image is scaled so its long side is at most max_side."""
        self._det.limit_side_len = max_side
        self._det.postprocess_op.box_thresh = box_thresh
        out = self._det(img)
        if out.boxes is None:
            return []
        return [Line(np.asarray(b, dtype=np.float32), float(s)) for b, s in zip(out.boxes, out.scores)]

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each upright line crop (BGR), in one batched pass."""
        if not crops:
            return []
        from rapidocr.ch_ppocr_rec import TextRecInput

        out = self._rec(TextRecInput(img=crops))
        return [(t, float(s)) for t, s in zip(out.txts, out.scores)]

    def upside_down(self, crops: list[np.ndarray]) -> list[float]:
        """Probability that each line crop is rotated 180 degrees."""
        if not crops:
            return []
        out = self._cls(crops)
        return [float(p) if label == "180" else 1.0 - float(p) for label, p in out.cls_res]


def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = Engine()
    return _engine


def current() -> Engine | None:
    """The process-wide engine if it was made (for status reports), without making it."""
    return _engine


def warm_up() -> Engine:
    """Load the models and run each stage once, so the first real request does not pay for it."""
    return warm_up_engine(get_engine())


def warm_up_engine(eng: Engine) -> Engine:
    img = np.full((64, 256, 3), 255, np.uint8)
    img[20:44, 20:236] = 0
    eng.detect(img)
    eng.recognize([img])
    eng.upside_down([img])
    return eng
