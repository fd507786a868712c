"""The one module that touches rapidocr / onnxruntime.

rapidocr's call flags (use_det/use_cls/use_rec) stick to its engine object, so we keep its three stage
models and call them directly instead: text detection, the 0/180 line classifier and recognition.
One Engine per process; it is not thread-safe.

Input shapes are bucketed. The runtimes keep state per distinct input shape they run (OpenVINO's CPU plugin a
few MB per shape, kept for good), and rapidocr feeds them a new shape for nearly every image size and line
width: a worker grew by ~500 MB over its first thousands of requests. So each model input is padded up to one
of a few fixed shapes (`DET_CANVASES`, `REC_WIDTHS`; the classifier's is fixed already), the model's output
cut back to the unpadded size, and `warm_up_engine` runs every bucket once: the state is built at start and
memory stays flat after it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .runtime import Choice

_lock = threading.Lock()
_engine: Engine | None = None

# Detector input canvases (height, width): an input (sides multiples of 32, at most 960) is padded to the
# smallest that holds it. The canonical card at orient.DET_SIDE (448x704) and common photo shapes at the
# 864/960 sides the reader asks for fit exactly or nearly; anything else pads to the next larger.
DET_CANVASES: tuple[tuple[int, int], ...] = (
    (448, 704), (704, 448), (480, 864), (864, 480), (640, 864), (864, 640), (864, 864),
    (544, 960), (960, 544), (704, 960), (960, 704), (960, 960),
)
# Recognition batch widths (the height is 48): a batch is padded to the next. Most batches are 320 wide
# (rapidocr's minimum), so the padding costs little. Wider than the last, lines run one by one at REC_WIDE.
REC_WIDTHS: tuple[int, ...] = (320, 384, 480, 640, 960, 1440)
REC_WIDE = 2880  # a line 60 times as wide as high; a wider one (no card's text line) is squeezed to it
REC_WARM_WIDTHS = 4  # warm_up_engine runs every batch size at the first four widths (nearly all batches)
REC_BATCH = 6  # rapidocr's rec_batch_num and cls_batch_num: batches of 1..6 lines
# OpenVINO runtime cache entries kept per model (default 5,000): all the buckets fit; a backstop only.
_OV_RUNTIME_CACHE = 128


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
    def __init__(self, threads: int | None = None, backend: str | None = None, bucketed: bool = True) -> None:
        """threads/backend: as given, else chosen by measurement on this machine (runtime.choose: cached).
        bucketed=False: model inputs as rapidocr makes them, the runtime's defaults (for comparison only)."""
        from .runtime import choose, max_threads

        self.choice: Choice | None = None
        self._charset: dict[str, int] | None = None
        if backend is None:
            self.choice = choose()
            backend = self.choice.backend
            threads = threads or self.choice.threads
        threads = threads or max_threads()
        from rapidocr import EngineType, RapidOCR  # heavy import, only when an engine is made
        from rapidocr.ch_ppocr_det.utils import DetPreProcess

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
        det = self._det
        det.get_preprocess = lambda: _in_float32(DetPreProcess(det.limit_side_len, det.limit_type, det.mean, det.std))
        self.bucketed = bucketed
        self.warmed = False  # every input bucket run once (warm_up_engine)
        if not bucketed:
            return
        if self.backend == "openvino":
            self._bound_openvino_cache()
        self._det.session = _PaddedDet(self._det.session)
        self._rec.session = _PaddedRec(self._rec.session)

    def _bound_openvino_cache(self) -> None:
        """Compile the models again with a bounded runtime cache (rapidocr passes only the keys it knows)."""
        import openvino as ov

        config = {
            "INFERENCE_NUM_THREADS": str(self.threads),
            "ENABLE_CPU_PINNING": "False",
            "CPU_RUNTIME_CACHE_CAPACITY": str(_OV_RUNTIME_CACHE),
        }
        core = ov.Core()
        for stage in (self._det, self._cls, self._rec):
            stage.session.session = core.compile_model(stage.session.model, "CPU", config).create_infer_request()

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

    def read_alternates(self, crop: np.ndarray, top: int = 4) -> list[tuple[str, list[tuple[str, float]]]]:
        """Each character the recognizer reads in one upright line crop, with its likeliest readings at that place
        (the character itself first, then others by probability): a look-alike's other reading, 埇 beside 埔,
        for a name table to choose from."""
        decode = self._rec.postprocess_op
        probs = self.frames(crop)
        best = probs.argmax(axis=1)
        ignored = set(decode.get_ignored_tokens())
        emitted = np.ones(len(best), bool)  # CTC: a class starting a run, not the blank
        emitted[1:] = best[1:] != best[:-1]
        emitted &= ~np.isin(best, list(ignored))
        chars = decode.character
        out = []
        for t in np.flatnonzero(emitted):
            order = [int(c) for c in np.argsort(probs[t])[::-1][: top + 1] if int(c) not in ignored][:top]
            out.append((chars[best[t]], [(chars[c], float(probs[t, c])) for c in order]))
        return out

    def frames(self, crop: np.ndarray) -> np.ndarray:
        """The recognizer's class probabilities in each frame of one upright line crop: (frames, classes), the
        classes those of `charset`."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        decode = self._rec.postprocess_op
        seen: list[np.ndarray] = []

        def keep(preds: np.ndarray, *a: Any, **k: Any) -> Any:
            seen.append(np.array(preds))
            return decode(preds, *a, **k)

        self._rec.postprocess_op = keep
        try:
            self._rec(TextRecInput(img=[crop]))
        finally:
            self._rec.postprocess_op = decode
        return seen[0][0]

    @property
    def charset(self) -> dict[str, int]:
        """The recognizer's class index of each character it knows (0, the CTC blank, is no character)."""
        if self._charset is None:
            self._charset = {c: i for i, c in enumerate(self._rec.postprocess_op.character) if i > 0}
        return self._charset

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
    """Run each stage once, then every input bucket, so the runtime's per-shape state is built before serving."""
    img = np.full((64, 256, 3), 255, np.uint8)
    img[20:44, 20:236] = 0
    eng.detect(img)
    eng.recognize([img])
    eng.upside_down([img])
    if not eng.bucketed or eng.warmed:
        return eng  # the buckets' state is built once per engine (every app start calls this)
    for h, w in sorted(DET_CANVASES, key=lambda c: -c[0] * c[1]):  # the largest first: buffers sized once
        eng._det.session(np.zeros((1, 3, h, w), np.float32))
    # the widest batch sizes the buffers; then every batch size at the common widths (the rarer wider buckets are
    # built on first use: a few MB each, and there are few)
    eng._rec.session(np.zeros((REC_BATCH, 3, 48, REC_WIDTHS[-1]), np.float32))
    eng._rec.session(np.zeros((1, 3, 48, REC_WIDE), np.float32))
    for width in REC_WIDTHS[:REC_WARM_WIDTHS]:
        for n in range(REC_BATCH, 0, -1):
            eng._rec.session(np.zeros((n, 3, 48, width), np.float32))
    for n in range(REC_BATCH, 0, -1):
        eng._cls.session(np.zeros((n, 3, 48, 192), np.float32))
    eng.warmed = True
    return eng


def det_canvas(h: int, w: int) -> tuple[int, int]:
    """The smallest detector canvas that holds an h x w input; beyond them all, the sides rounded up to 32."""
    fits = [c for c in DET_CANVASES if c[0] >= h and c[1] >= w]
    if fits:
        return min(fits, key=lambda c: (c[0] * c[1], c))
    return (math.ceil(h / 32) * 32, math.ceil(w / 32) * 32)


def rec_width(w: int) -> int:
    """The recognition batch width an input w px wide is padded (or, beyond REC_WIDE, squeezed) to."""
    for width in REC_WIDTHS:
        if w <= width:
            return width
    return REC_WIDE


def _in_float32(op: Any) -> Any:
    """A rapidocr detector pre-processing op normalising in float32: its mean and std are float64 arrays, which
    turned each detection's normalisation (a canvas of up to 960 px, 3 channels) into float64 arithmetic, ~5 ms
    a call. The same values to float32 rounding."""
    scale = (op.scale / op.std).astype(np.float32)
    shift = (op.mean / op.std).astype(np.float32)
    op.normalize = lambda img: img.astype(np.float32) * scale - shift
    return op


class _PaddedDet:
    """The detector's session, fed canvases: the input is padded right and below by repeating its last row
    and column, and the probability map cut back to the input's size, so the boxes are found and scaled as on
    the unpadded input and none can lie in the padding. (Padding with 0, mid grey after rapidocr's
    normalisation, changed what the detector found near the border: 3 of 60 watermarked copies read
    differently, one card lost; repeating the border reads them as unpadded.)"""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h, w = x.shape[2:]
        ch, cw = det_canvas(h, w)
        if (ch, cw) != (h, w):
            x = np.pad(x, ((0, 0), (0, 0), (0, ch - h), (0, cw - w)), mode="edge")
        return np.asarray(self.session(x))[:, :, :h, :w]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


class _PaddedRec:
    """The recogniser's session, fed bucket widths: a batch is padded on the right with 0 (rapidocr pads each
    line of a batch to the batch's widest with the same 0) and the output's time steps cut back to the
    unpadded width's. A batch wider than the last bucket runs one line at a time at REC_WIDE (the model's
    attention costs memory by the square of the width: one batch of six 2880 px lines held 240 MB for good),
    a wider one squeezed to it, as rapidocr squeezes a line wider than its batch."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n, _, _, w = x.shape
        width = rec_width(w)
        if width == w:
            return self.session(x)
        if width <= REC_WIDTHS[-1]:
            return self._run(x, width)
        return np.concatenate([self._run(x[i:i + 1], REC_WIDE) for i in range(n)])

    def _run(self, x: np.ndarray, width: int) -> np.ndarray:
        n, c, h, w = x.shape
        if w > width:  # squeezed: every time step is kept
            import cv2

            line = cv2.resize(x[0].transpose(1, 2, 0), (width, h), interpolation=cv2.INTER_AREA)
            return np.array(self.session(line.transpose(2, 0, 1)[np.newaxis].astype(np.float32)))
        padded = np.zeros((n, c, h, width), np.float32)
        padded[..., :w] = x
        # a copy: the runtime's output buffer is overwritten by its next call
        return np.array(np.asarray(self.session(padded))[:, : (w + 4) // 8])  # time steps: w / 8, half down

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)
