"""How well given texts explain a recognized line: CTC log-likelihoods from the recognizer's own per-frame
probabilities (the forward algorithm, all candidates at once).

Used where a field has a closed set of values (sex, nation) and its line read as none of them: each value is
scored against the pixels' evidence instead of the recognizer's single best guess.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_likelihoods"]

_FLOOR = 1e-12


def log_likelihoods(probs: np.ndarray, targets: list[list[int]], blank: int = 0,
                    silent: tuple[int, ...] = ()) -> np.ndarray:
    """log P(target | frames) for each target (class indices; empty allowed), summed over CTC alignments.

    probs: (frames, classes), each row a distribution. silent: classes that may appear anywhere unread (the
    space), folded into the blank.
    """
    logp = np.log(np.maximum(probs, _FLOOR))
    blank_lp = np.log(np.maximum(probs[:, [blank, *silent]].sum(axis=1), _FLOOR))
    n = len(targets)
    s_max = 2 * max((len(t) for t in targets), default=0) + 1
    labels = np.full((n, s_max), -1, np.int64)  # -1: blank; positions past a target's end stay unused
    for i, t in enumerate(targets):
        labels[i, 1:2 * len(t):2] = t
    lengths = np.array([2 * len(t) + 1 for t in targets])
    # A label may be reached from two back (skipping the blank between) unless it repeats the one before it.
    skip = np.zeros((n, s_max), bool)
    skip[:, 2:] = (labels[:, 2:] >= 0) & (labels[:, 2:] != labels[:, :-2])
    valid = np.arange(s_max)[None, :] < lengths[:, None]

    def emit(t: int) -> np.ndarray:
        return np.where(labels >= 0, logp[t][np.maximum(labels, 0)], blank_lp[t])

    alpha = np.full((n, s_max), -np.inf)
    first = emit(0)
    alpha[:, 0] = first[:, 0]
    if s_max > 1:
        alpha[:, 1] = np.where(lengths > 1, first[:, 1], -np.inf)
    for t in range(1, len(probs)):
        one = np.concatenate([np.full((n, 1), -np.inf), alpha[:, :-1]], axis=1)
        two = np.concatenate([np.full((n, 2), -np.inf), alpha[:, :-2]], axis=1)
        two = np.where(skip, two, -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, one), two) + emit(t)
        alpha = np.where(valid, alpha, -np.inf)
    rows = np.arange(n)
    last = alpha[rows, lengths - 1]
    before = np.where(lengths > 1, alpha[rows, np.maximum(lengths - 2, 0)], -np.inf)
    return np.logaddexp(last, before)
