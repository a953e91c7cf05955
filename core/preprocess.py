"""The one preprocessing step that turns an interferogram into the network's input, shared by
training and inference (the model's card names it by :data:`PREPROCESSING_ID`).

Channels (float32, shape (3, size, size)):

0. unwrapped phase in cycles around its median, ``tanh(cycles / 2)``: absolute scale is kept
   (strong atmosphere and ramps are large phase excursions), steep deformation saturates;
1. 2 pi discontinuities: where the unwrapped phase jumps between neighbouring pixels by more
   than half a cycle, the number of cycles jumped (clipped at 1), max-pooled so thin patch
   boundaries survive the resampling. Integer 2 pi jumps vanish when phase is re-wrapped, so a
   re-wrapped colour image (the paper's input) cannot show unwrapping errors; this channel does;
3. coherence (0 where missing).

Missing data is explicit: 0 in every channel.
"""

from __future__ import annotations

import numpy as np

PREPROCESSING_ID = "unw-tanh-disc-coh-v1"
DEFAULT_SIZE = 128
CHANNELS = ("phase_cycles_tanh", "discontinuity", "coherence")
#: Pairs with less valid data than this are "no data" (labelled low without the network).
MIN_VALID_SHARE = 0.01


def _edges(length: int, size: int) -> np.ndarray:
    """Start index of each output cell along an axis (repeats when upsampling: nearest)."""
    return np.minimum((np.arange(size) * length) // size, length - 1)


def _pool(values: np.ndarray, weights: np.ndarray | None, size: int, how: str) -> np.ndarray:
    rows, cols = _edges(values.shape[0], size), _edges(values.shape[1], size)
    if how == "max":
        return np.maximum.reduceat(np.maximum.reduceat(values, rows, axis=0), cols, axis=1)
    total = np.add.reduceat(np.add.reduceat(values * weights, rows, axis=0), cols, axis=1)
    count = np.add.reduceat(np.add.reduceat(weights, rows, axis=0), cols, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1e-12), 0.0)


def discontinuity(phase: np.ndarray) -> np.ndarray:
    """Cycles jumped to the next pixel (right or below), 0 where not computable.

    Parameters
    ----------
    phase
        Unwrapped phase, radians, shape (rows, cols), NaN missing.

    Returns
    -------
    numpy.ndarray
        Shape (rows, cols), float32, >= 0.
    """
    jumps = np.zeros(phase.shape, dtype=np.float32)
    for axis in (0, 1):
        step = np.diff(phase, axis=axis)
        cycles = np.abs(np.rint(step / (2 * np.pi)))
        cycles = np.nan_to_num(cycles, nan=0.0)
        if axis == 0:
            jumps[:-1] = np.maximum(jumps[:-1], cycles)
            jumps[1:] = np.maximum(jumps[1:], cycles)
        else:
            jumps[:, :-1] = np.maximum(jumps[:, :-1], cycles)
            jumps[:, 1:] = np.maximum(jumps[:, 1:], cycles)
    return jumps


def valid_share(phase: np.ndarray) -> float:
    return float(np.isfinite(phase).mean()) if phase.size else 0.0


def preprocess_pair(phase: np.ndarray, coherence: np.ndarray | None,
                    size: int = DEFAULT_SIZE) -> np.ndarray:
    """The network's input for one interferogram.

    Parameters
    ----------
    phase
        Unwrapped phase, radians, shape (rows, cols), NaN where missing (any reference).
    coherence
        Coherence 0..1, same shape, or None (then the channel is the valid mask x 0.5).
    size
        Output size (square), pixels.

    Returns
    -------
    numpy.ndarray
        Shape (3, size, size), float32 (see the module docstring).
    """
    phase = np.asarray(phase, dtype=np.float64)
    valid = np.isfinite(phase)
    weights = valid.astype(np.float64)
    if valid.any():
        cycles = (phase - np.median(phase[valid])) / (2 * np.pi)
    else:
        cycles = np.zeros_like(phase)
    cycles = np.where(valid, cycles, 0.0)
    channel0 = np.tanh(_pool(cycles, weights, size, "mean") / 2.0)
    channel1 = np.minimum(_pool(discontinuity(phase), None, size, "max"), 1.0)
    if coherence is None:
        coherence_values = np.where(valid, 0.5, 0.0)
    else:
        coherence_values = np.where(valid & np.isfinite(coherence),
                                    np.clip(np.nan_to_num(coherence), 0, 1), 0.0)
    channel2 = _pool(coherence_values, weights, size, "mean")
    covered = _pool(weights, np.ones_like(weights), size, "mean") > 0
    out = np.stack([channel0, channel1, channel2]) * covered[None]
    return out.astype(np.float32)
