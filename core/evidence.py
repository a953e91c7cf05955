"""What the rest of the network says about each pair, and how that is combined with the CNN.

One interferogram alone cannot tell a pair's own orbital ramp from a regional deformation
gradient, or a stormy acquisition from a subsidence bowl; the network can. Every pair is
compared with what the other pairs predict for it (a leave-one-out SBAS fit on a coarse grid):

- ``ramp_fringes``: the trend (plane + quadratic) of its misfit, fringes peak to peak (a pair's
  own ramp does not close around loops);
- ``misfit_rad``: the RMS of that misfit once the trend is removed, radians (unwrapping
  errors, decorrelation noise);
- ``jump_share``: the share of pixels whose misfit exceeds pi (unwrapping errors);
- ``atmosphere_mm``: the spatial standard deviation of the pair's atmospheric delay, mm,
  estimated from its two dates' departures from a smooth per-pixel time series (linear +
  seasonal): atmosphere belongs to dates, so it closes around loops and only the time series
  can see it;
- ``low_coherence_share``: the share of pixels with coherence below 0.3 or no phase.

:class:`EvidenceModel` turns the CNN's probability and this evidence into one probability of
high quality, as a noisy-OR: each piece of evidence is an independent reason to call the pair
low, ``P(high) = prod_k (1 - sigmoid(slope_k * z_k + bias_k))``, where ``z_k`` is the
standardised feature. Evidence that cannot be measured (a pair that is a bridge of the network,
a stack without coherence, too few dates for a time series) simply contributes no reason. Its
parameters are fitted (``models/fit_evidence.py``) on simulated stacks that the CNN never saw
and stored in the model's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from .dates import decimal_year
from .inversion.network import date_components
from .inversion.solver import design_matrix
from .preprocess import _pool

#: Side of the coarse grid the network is fitted on, pixels.
GRID_SIZE = 64
#: A pixel of the coarse grid is used when this share of the pairs has phase there.
MIN_PIXEL_COVERAGE = 0.8
#: Rasters narrower than this get no network evidence (smaller ones up to the grid's size are
#: resampled to it, nearest neighbour).
MIN_SIDE = 8
#: Fewer usable pixels than this and no network evidence is given.
MIN_PIXELS = 50
#: A pair whose leverage (unweighted) is above this is a bridge: the rest of the network cannot
#: predict it.
MAX_LEVERAGE = 0.95
#: Dates a connected piece needs before its time series says anything about atmosphere.
MIN_DATES_FOR_ATMOSPHERE = 8
#: Coherence below which a pixel counts as decorrelated.
LOW_COHERENCE = 0.3
#: Reweighting passes of the robust fit (pairs that misfit badly are down-weighted).
ROBUST_PASSES = 5

#: Feature names, in the order of :meth:`NetworkEvidence.features` columns.
FEATURES = ("image_logit", "low_coherence", "atmosphere", "ramp", "misfit", "jumps")


@dataclass(frozen=True)
class NetworkEvidence:
    """Per-pair evidence, arrays of shape (n_pairs,), NaN where not measurable."""

    atmosphere_mm: np.ndarray
    ramp_fringes: np.ndarray
    misfit_rad: np.ndarray
    jump_share: np.ndarray
    low_coherence_share: np.ndarray

    def features(self, image_probability: np.ndarray) -> np.ndarray:
        """The model's inputs, shape (n_pairs, len(FEATURES)), NaN where not measurable.

        Parameters
        ----------
        image_probability
            The CNN's probability of high quality per pair, shape (n_pairs,).
        """
        p = np.clip(np.asarray(image_probability, float), 1e-4, 1 - 1e-4)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([
                np.log(p / (1 - p)),
                np.sqrt(self.low_coherence_share),
                np.log(np.maximum(self.atmosphere_mm, 1e-3)),
                np.log(self.ramp_fringes + 0.02),
                np.log(np.maximum(self.misfit_rad, 1e-3)),
                np.sqrt(self.jump_share),
            ], axis=1)

    def describe(self, index: int) -> str:
        """The evidence for one pair in words, e.g. "atmosphere 14.2 mm, ramp 0.1 fringes"."""
        parts = []
        for value, text in ((self.atmosphere_mm[index], "atmosphere {:.1f} mm"),
                            (self.ramp_fringes[index], "ramp {:.1f} fringes"),
                            (self.jump_share[index] * 100, "{:.0f}% jumps"),
                            (self.low_coherence_share[index] * 100, "{:.0f}% decorrelated")):
            if np.isfinite(value):
                parts.append(text.format(value))
        return ", ".join(parts) if parts else "no network evidence (bridge pair)"


class EvidenceCollector:
    """Gathers what the evidence needs while the classifier reads each pair (no second read).

    Parameters
    ----------
    n_pairs
        Pairs in the stack.
    size
        Side of the coarse grid, pixels.
    """

    def __init__(self, n_pairs: int, size: int = GRID_SIZE) -> None:
        self.size = size
        self.phase = np.full((n_pairs, size * size), np.nan, dtype=np.float64)
        self.low_coherence = np.full(n_pairs, np.nan)

    def add(self, index: int, phase: np.ndarray, coherence: np.ndarray | None) -> None:
        """One pair's unwrapped phase (radians, NaN missing) and coherence (or None)."""
        valid = np.isfinite(phase)
        if coherence is not None:
            decorrelated = (np.nan_to_num(coherence) < LOW_COHERENCE) | ~valid
            self.low_coherence[index] = float(decorrelated.mean())
        if min(phase.shape) < MIN_SIDE:
            return  # too small to say anything about trends: no network evidence
        mean = _pool(np.where(valid, phase, 0.0), valid.astype(np.float64), self.size, "mean")
        cover = _pool(valid.astype(np.float64), np.ones(phase.shape), self.size, "mean")
        mean[cover < 0.5] = np.nan
        self.phase[index] = mean.ravel()

    def evidence(self, pairs: list[tuple[date, date]], image_probability: np.ndarray,
                 wavelength_m: float) -> NetworkEvidence:
        """Fit the network and measure every pair against it.

        Parameters
        ----------
        pairs
            (date1, date2) per pair, in the order the pairs were added.
        image_probability
            The CNN's probability of high quality, shape (n_pairs,): the fit's starting
            weights (a pair the CNN doubts counts little in predicting the others).
        wavelength_m
            Radar wavelength, metres (phase to delay: ``mm = rad * wavelength / (4 pi)``).
        """
        return network_evidence(self.phase, pairs, image_probability, wavelength_m,
                                self.low_coherence, self.size)


def network_evidence(phase: np.ndarray, pairs: list[tuple[date, date]],
                     image_probability: np.ndarray, wavelength_m: float,
                     low_coherence_share: np.ndarray, size: int = GRID_SIZE) -> NetworkEvidence:
    """Leave-one-out misfit and atmosphere of every pair (see the module's docstring).

    Parameters
    ----------
    phase
        Coarse unwrapped phase, radians, shape (n_pairs, size * size), NaN missing.
    pairs
        (date1, date2) per pair.
    image_probability
        Starting weights, shape (n_pairs,), 0..1.
    wavelength_m
        Radar wavelength, metres.
    low_coherence_share
        Per pair, shape (n_pairs,), NaN without coherence.
    size
        Side of the coarse grid (``phase`` holds ``size * size`` pixels per pair).
    """
    n_pairs = len(pairs)
    nan = np.full(n_pairs, np.nan)
    empty = NetworkEvidence(nan, nan.copy(), nan.copy(), nan.copy(),
                            np.asarray(low_coherence_share, float))
    dates = sorted({d for pair in pairs for d in pair})
    valid = np.isfinite(phase)
    usable = valid.mean(axis=0) >= MIN_PIXEL_COVERAGE if n_pairs else np.zeros(0, bool)
    if n_pairs < 3 or usable.sum() < MIN_PIXELS:
        return empty
    observed, valid = phase[:, usable], valid[:, usable]
    observed = observed - np.nanmedian(observed, axis=1, keepdims=True)
    design = design_matrix(dates, pairs)  # interval velocities: the fit's unknowns
    bridge = _hat_diagonal(design, np.ones(n_pairs))[0] > MAX_LEVERAGE

    prior = np.clip(np.nan_to_num(np.asarray(image_probability, float), nan=0.0), 0.05, 1.0)
    weights = prior.copy()
    filled = np.where(valid, observed, 0.0)
    for step in range(ROBUST_PASSES):
        leverage, normal_inverse = _hat_diagonal(design, weights)
        velocities = normal_inverse @ (design.T @ (weights[:, None] * filled))
        predicted = design @ velocities
        filled = np.where(valid, observed, predicted)  # missing pixels: what the rest says
        misfit = (filled - predicted) / np.clip(1 - leverage, 0.02, None)[:, None]
        misfit -= np.median(misfit, axis=1, keepdims=True)
        rms = np.sqrt((np.where(valid, misfit, 0.0) ** 2).sum(axis=1)
                      / np.maximum(valid.sum(axis=1), 1))
        if step < ROBUST_PASSES - 1:
            scale = 1.5 * np.median(rms[~bridge]) if (~bridge).any() else 1.0
            weights = prior * np.minimum(1.0, (scale / np.maximum(rms, 1e-9)) ** 2)

    ramp, residual, jumps = _misfit_shape(misfit, valid, usable, size)
    ramp[bridge] = residual[bridge] = jumps[bridge] = np.nan
    intervals = np.diff([decimal_year(d) for d in dates])
    series = np.cumsum(intervals[:, None] * velocities, axis=0)  # phase of each later date
    atmosphere = _atmosphere(series, pairs, dates, wavelength_m)
    return NetworkEvidence(atmosphere, ramp, residual, jumps,
                           np.asarray(low_coherence_share, float))


def _hat_diagonal(design: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal of the weighted hat matrix, shape (n_pairs,) (1 for a bridge pair), and the
    pseudo-inverse of the normal matrix it came from."""
    normal_inverse = np.linalg.pinv(design.T @ (weights[:, None] * design))
    return weights * np.einsum("ij,jk,ik->i", design, normal_inverse, design), normal_inverse


def _misfit_shape(misfit: np.ndarray, valid: np.ndarray, usable: np.ndarray,
                  size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trend (fringes), RMS after the trend (radians) and share of pixels off by more than
    pi, per pair, of the leave-one-out misfit (n_pairs, n_usable_pixels)."""
    rows, cols = np.divmod(np.flatnonzero(usable), size)
    y, x = rows / size - 0.5, cols / size - 0.5
    basis = np.stack([np.ones_like(y), y, x, y * y, x * x, y * x], axis=1)
    ramp, residual, jumps = (np.full(len(misfit), np.nan) for _ in range(3))
    for p in range(len(misfit)):
        ok = valid[p]
        if ok.sum() < basis.shape[1] * 4:
            continue
        coefficients, *_ = np.linalg.lstsq(basis[ok], misfit[p, ok], rcond=None)
        trend = basis @ coefficients
        ramp[p] = np.ptp(trend[ok]) / (2 * np.pi)
        residual[p] = float(np.std(misfit[p, ok] - trend[ok]))
        jumps[p] = float(np.mean(np.abs(misfit[p, ok]) > np.pi))
    return ramp, residual, jumps


def _atmosphere(series: np.ndarray, pairs: list[tuple[date, date]], dates: list[date],
                wavelength_m: float) -> np.ndarray:
    """Each pair's atmospheric delay, mm (spatial std), from its dates' departures from a
    per-pixel linear + seasonal model fitted in each connected piece of the network.

    ``series`` is the fitted phase of every date but the first, shape (n_dates - 1, n_pixels).
    """
    full = np.vstack([np.zeros((1, series.shape[1])), series])
    index = {d: k for k, d in enumerate(dates)}
    edges = np.array([[index[a], index[b]] for a, b in pairs])
    years = np.array([(d - dates[0]).days / 365.25 for d in dates])
    departure = np.full_like(full, np.nan)
    for piece in date_components(dates, pairs):
        members = np.array([index[d] for d in piece])
        if len(members) < MIN_DATES_FOR_ATMOSPHERE:
            continue
        t = years[members]
        model = np.stack([np.ones_like(t), t, np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)],
                         axis=1)
        coefficients, *_ = np.linalg.lstsq(model, full[members], rcond=None)
        departure[members] = full[members] - model @ coefficients
    to_mm = wavelength_m * 1000.0 / (4 * np.pi)
    delay = (departure[edges[:, 1]] - departure[edges[:, 0]]) * to_mm
    with np.errstate(invalid="ignore"):
        return np.std(delay, axis=1)


@dataclass(frozen=True)
class EvidenceModel:
    """Noisy-OR of the CNN and the network evidence (see the module's docstring).

    Two parameter sets: ``network`` for pairs with network evidence, ``image`` (the CNN and
    coherence alone) for pairs without (a bridge, a stack too small). Each set holds, per
    feature of :data:`FEATURES` it uses: mean and std (standardisation), slope and bias.
    """

    network: dict[str, Any]
    image: dict[str, Any]

    @classmethod
    def from_card(cls, value: dict[str, Any]) -> EvidenceModel:
        """From the card's ``evidence_model`` value; raises ValueError when malformed."""
        try:
            sets = {name: value[name] for name in ("network", "image")}
            for params in sets.values():
                n = len(params["features"])
                if not set(params["features"]) <= set(FEATURES):
                    raise ValueError(f"unknown features {params['features']}")
                if any(len(params[k]) != n for k in ("mean", "std", "slope", "bias")):
                    raise ValueError("parameter lengths differ")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed evidence model ({exc})") from exc
        return cls(network=sets["network"], image=sets["image"])

    def probability_high(self, features: np.ndarray) -> np.ndarray:
        """P(high) per pair, shape (n_pairs,), from :meth:`NetworkEvidence.features`."""
        has_network = np.isfinite(features[:, FEATURES.index("ramp")])
        out = np.empty(len(features))
        for params, rows in ((self.network, has_network), (self.image, ~has_network)):
            if rows.any():
                out[rows] = noisy_or(features[rows], params)
        return out


def noisy_or(features: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """``prod_k (1 - sigmoid(slope_k z_k + bias_k))`` over the parameter set's features; a NaN
    feature gives no reason (its factor is 1). Shape (n_pairs,)."""
    columns = [FEATURES.index(name) for name in params["features"]]
    z = (features[:, columns] - np.asarray(params["mean"])) / np.asarray(params["std"])
    score = np.asarray(params["slope"]) * z + np.asarray(params["bias"])
    score = np.where(np.isnan(score), -np.inf, score)  # not measured: no reason (factor 1)
    return np.exp(-np.logaddexp(0.0, score).sum(axis=1))  # log(1 - sigmoid) = -log(1 + e^s)
