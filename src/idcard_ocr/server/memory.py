"""glibc malloc settings for a long-running worker, so memory a request freed goes back to the system.

Measured (README, "Memory"): glibc raises its mmap threshold after each large block it frees (up to 32 MiB), so
after a few big requests their bodies, base64 strings and decoded pixels come from the heap and stay in the
process when freed: 24 concurrent 15 MiB bodies left +627 MB for good. A fixed 8 MiB threshold keeps every
large buffer (big bodies, their base64, full-resolution pixels) in its own mapping, returned at once when
freed; two malloc arenas instead of one per thread; and ``trim()`` (malloc_trim) when the pool falls idle hands
back what freed blocks leave in the heap. Nothing happens on a C library without these calls (musl, macOS).

Why 8 MiB, not 1: a read allocates and frees dozens of 1-8 MB buffers (straightened cards, detection and
recognition tensors, a phone photo at its working size). Each mapped afresh is page-faulted and zeroed by the
kernel again: measured on 8 MP photos, one process, 1 thread, 1 MiB: 33,500 page faults and 98 ms of system
time per image (584 ms CPU); 8 MiB: 9,800 and 32 ms (489 ms CPU); no tuning: 8,300 and 32 ms (505 ms CPU).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("idcard_ocr.server")
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 8 << 20
ARENA_MAX = 2

_libc: ctypes.CDLL | None = None


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _ = libc.mallopt, libc.malloc_trim
        except (OSError, AttributeError):
            return None
        _libc = libc
    return _libc


def tune() -> bool:
    """Apply the settings above to this process; False where malloc is not glibc's."""
    libc = _glibc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    libc.mallopt(_M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD)  # the heap top kept while busy (trim() when idle)
    log.debug("malloc tuned: mmap threshold %d, %d arenas (%s)", MMAP_THRESHOLD, ARENA_MAX, ok)
    return ok


def trim() -> None:
    """Give freed heap memory back to the system (a few ms at most; call it when nothing waits)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
