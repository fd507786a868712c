"""Which ONNX runtime runs the models on this machine, and with how many threads: chosen by timing.

The same PP-OCR models run under onnxruntime or OpenVINO; which is faster depends on the CPU (on one AMD
EPYC OpenVINO was no faster, elsewhere it was ~2x). So at first start (or `idcard-ocr doctor`) both read the
bundled sample card, the faster is kept, then the fewest threads about as fast as the most the worker may
use. The choice is cached per machine and software versions in a small JSON file in the user cache dir.
IDCARD_OCR_BACKEND forces a runtime; IDCARD_OCR_THREADS caps the threads per engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BACKENDS = ("onnxruntime", "openvino")
THREAD_TOLERANCE = 0.10  # fewer threads are kept when within 10 % of the fastest: the other cores serve others
_RUNS = 2  # timed sample reads per measurement; the fastest counts (others on the box only ever slow one)

Measure = Callable[[str, int], float]  # (backend, threads) -> ms per sample read


@dataclass
class Choice:
    """The runtime and thread count an engine uses, and why."""

    backend: str
    threads: int
    source: str  # "forced" (IDCARD_OCR_BACKEND), "measured", "cached", "only" (one runtime installed)
    reason: str
    backend_ms: dict[str, float] = field(default_factory=dict)  # ms per sample read, each runtime
    thread_ms: dict[str, float] = field(default_factory=dict)  # ms per sample read by thread count
    measured_at: str | None = None
    busy: bool = False  # measured while other work loaded the machine: measured again once it is quiet

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def available() -> list[str]:
    """The runtimes installed (onnxruntime is a dependency; OpenVINO is optional)."""
    found = []
    for name, module in (("onnxruntime", "onnxruntime"), ("openvino", "openvino")):
        try:
            __import__(module)
        except ImportError:
            continue
        found.append(name)
    return found


def max_threads() -> int:
    """Threads an engine may use: IDCARD_OCR_THREADS (the server and CLI set cores / workers), else 2 at most."""
    wanted = os.environ.get("IDCARD_OCR_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, min(2, os.cpu_count() or 1))


def threads_per_worker(workers: int) -> int:
    """Inference threads for each of `workers` processes sharing this machine's cores (what IDCARD_OCR_THREADS
    is set to for them): the cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // workers)


def forced_backend() -> str | None:
    wanted = os.environ.get("IDCARD_OCR_BACKEND", "").strip().lower()
    if wanted and wanted not in BACKENDS:
        raise ValueError(f"IDCARD_OCR_BACKEND must be one of {', '.join(BACKENDS)}")
    return wanted or None


def cache_path() -> Path:
    """IDCARD_OCR_CACHE_DIR, else $XDG_CACHE_HOME/idcard-ocr, else ~/.cache/idcard-ocr."""
    base = os.environ.get("IDCARD_OCR_CACHE_DIR") or ""
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "idcard-ocr")
    return Path(base) / "runtime.json"


def fingerprint(backends: list[str], cap: int) -> str:
    """What the measurement depends on: the CPU, the runtimes' versions, the thread cap."""
    parts = [_cpu_model(), str(os.cpu_count()), platform.machine(), str(cap), ",".join(backends)]
    for pkg in ("idcard-ocr", "rapidocr", "onnxruntime", "openvino"):
        try:
            parts.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg}=-")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def pick_backend(ms: dict[str, float]) -> tuple[str, str]:
    """The faster runtime and the reason, from ms per sample read of each."""
    best = min(ms, key=lambda b: (ms[b], BACKENDS.index(b)))
    others = ", ".join(f"{b} {ms[b]:.0f} ms" for b in sorted(ms, key=ms.__getitem__) if b != best)
    why = f"faster on this machine: {best} {ms[best]:.0f} ms per sample read"
    return best, why + (f" vs {others}" if others else "")


def pick_threads(ms: dict[int, float], tolerance: float = THREAD_TOLERANCE) -> int:
    """The fewest threads whose time is within `tolerance` of the fastest thread count."""
    best = min(ms.values())
    return min(n for n, t in ms.items() if t <= best * (1 + tolerance))


def choose(measure: Measure | None = None, refresh: bool = False, cache: Path | None = None) -> Choice:
    """The runtime and threads to use: forced by the environment, else cached, else measured (and cached)."""
    forced = forced_backend()
    backends = [forced] if forced else available()
    if not backends:
        raise RuntimeError("no ONNX runtime installed (onnxruntime or openvino)")
    cap = max_threads()
    path = cache or cache_path()
    key = fingerprint(backends, cap)
    if not refresh:
        hit = _usable(_load(path).get(key))
        if hit is not None:
            return Choice(**{**hit, "source": "forced" if forced else "cached"})
    with _locked(path):
        if not refresh:  # another worker may have measured while this one waited
            hit = _usable(_load(path).get(key))
            if hit is not None:
                return Choice(**{**hit, "source": "forced" if forced else "cached"})
        c = _measure(backends, cap, measure or sample_read_ms, forced is not None)
        _store(path, key, c)
    return c


def _usable(hit: dict[str, object] | None) -> dict[str, object] | None:
    """A cached choice, unless it was measured on a busy machine and this one is quiet now: then it is measured
    again. (Timed under load, two threads looked slower than one, and a cache made so kept one thread.)"""
    if hit is None or (hit.get("busy") and not machine_busy()):
        return None
    return hit


def machine_busy() -> bool:
    """Other work loads the machine: a 1-minute load average above half its cores."""
    try:
        return os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    except OSError:  # not on this platform: taken as quiet
        return False


def _measure(backends: list[str], cap: int, measure: Measure, forced: bool) -> Choice:
    busy = machine_busy()
    backend_ms = {b: measure(b, cap) for b in backends}
    if forced:
        backend, reason, source = backends[0], "forced by IDCARD_OCR_BACKEND", "forced"
    elif len(backends) == 1:
        backend, reason, source = backends[0], f"the only runtime installed ({backends[0]})", "only"
    else:
        (backend, reason), source = pick_backend(backend_ms), "measured"
    thread_ms = {cap: backend_ms[backend]}
    for n in range(1, cap):  # fewer threads, fastest runtime only
        thread_ms[n] = measure(backend, n)
    threads = pick_threads(thread_ms)
    if cap > 1:
        reason += f"; {threads} of up to {cap} threads (" + ", ".join(
            f"{n}: {thread_ms[n]:.0f} ms" for n in sorted(thread_ms)) + ")"
    if busy:
        reason += "; measured on a busy machine: measured again at a start when it is quiet"
    return Choice(backend, threads, source, reason, {b: round(v, 1) for b, v in backend_ms.items()},
                  {str(n): round(v, 1) for n, v in sorted(thread_ms.items())},
                  time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), busy)


def sample_read_ms(backend: str, threads: int) -> float:
    """Best ms of reading the bundled sample card (the whole pipeline) with this runtime and thread count."""
    from importlib import resources

    from .engine import Engine, warm_up_engine
    from .pipeline import read

    data = resources.files("idcard_ocr").joinpath("data/sample_front.jpg").read_bytes()
    eng = warm_up_engine(Engine(threads=threads, backend=backend))
    read(data, engine=eng)  # first read: lazy allocations in the runtime
    times = []
    for _ in range(_RUNS):
        t = time.perf_counter()
        read(data, engine=eng)
        times.append((time.perf_counter() - t) * 1000)
    return min(times)


def cached() -> Choice | None:
    """The choice this machine would use without measuring: forced, or cached; None if not measured yet."""
    forced = forced_backend()
    backends = [forced] if forced else available()
    hit = _usable(_load(cache_path()).get(fingerprint(backends, max_threads())))
    if hit is not None:
        return Choice(**{**hit, "source": "forced" if forced else "cached"})
    return None


def _load(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    fields = set(Choice.__dataclass_fields__)
    return {k: v for k, v in data.items() if isinstance(v, dict) and set(v) == fields}


def _store(path: Path, key: str, c: Choice) -> None:
    with contextlib.suppress(OSError):  # a read-only home only costs a measurement at each start
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _load(path)
        data[key] = c.as_dict()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), "utf-8")
        os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process measures at a time (server workers start together): timing both at once would skew both."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - held for the block
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
    finally:
        f.close()
