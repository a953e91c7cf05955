"""Random spatial fields: power-law screens, terrain, irregular patches."""

from __future__ import annotations

import numpy as np


def power_law_field(shape: tuple[int, int], beta: float, rng: np.random.Generator,
                    pixel_m: float = 80.0, outer_scale_m: float = 20_000.0) -> np.ndarray:
    """Zero-mean, unit-std Gaussian field with power spectrum ~ k**(-beta).

    Parameters
    ----------
    shape
        (rows, cols).
    beta
        Spectral exponent (8/3 for turbulent atmosphere, ~3-4 for terrain).
    pixel_m
        Pixel spacing, metres.
    outer_scale_m
        Wavelengths longer than this get no more power (keeps the mean finite).

    Returns
    -------
    numpy.ndarray
        Shape ``shape``, float64.
    """
    rows, cols = shape
    pad_r, pad_c = 2 * rows, 2 * cols  # avoid periodic wrap-around
    ky = np.fft.fftfreq(pad_r, d=pixel_m)[:, None]
    kx = np.fft.rfftfreq(pad_c, d=pixel_m)[None, :]
    k = np.sqrt(kx**2 + ky**2)
    k = np.maximum(k, 1.0 / outer_scale_m)
    amplitude = k ** (-beta / 2.0)
    noise = rng.standard_normal((pad_r, pad_c // 2 + 1)) + 1j * rng.standard_normal(
        (pad_r, pad_c // 2 + 1))
    field = np.fft.irfft2(noise * amplitude, s=(pad_r, pad_c))[:rows, :cols]
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def terrain(shape: tuple[int, int], rng: np.random.Generator, pixel_m: float,
            relief_m: float, base_m: float) -> np.ndarray:
    """Heights in metres: a fractal surface plus a broad slope, shape ``shape``."""
    rough = power_law_field(shape, 3.6, rng, pixel_m)
    rough = (rough - rough.min()) / max(np.ptp(rough), 1e-9)
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    angle = rng.uniform(0, 2 * np.pi)
    slope = (np.cos(angle) * xx + np.sin(angle) * yy)
    slope = (slope - slope.min()) / max(np.ptp(slope), 1e-9)
    return base_m + relief_m * (0.75 * rough + 0.25 * slope)


def irregular_patch(shape: tuple[int, int], area_fraction: float, rng: np.random.Generator,
                    pixel_m: float, bias: np.ndarray | None = None,
                    allowed: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of irregular blob(s) covering about ``area_fraction`` of ``allowed``.

    ``bias`` (same shape) raises the chance that a pixel is inside (e.g. low coherence).
    """
    field = power_law_field(shape, 4.0, rng, pixel_m, outer_scale_m=shape[0] * pixel_m / 2)
    if bias is not None:
        field = field + bias
    allowed = np.ones(shape, dtype=bool) if allowed is None else allowed
    values = field[allowed]
    if values.size == 0:
        return np.zeros(shape, dtype=bool)
    threshold = np.quantile(values, 1.0 - area_fraction)
    mask = (field >= threshold) & allowed
    # Keep the largest connected blob and any others above a tenth of its size: irregular
    # patches, not salt-and-pepper.
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
        keep = np.flatnonzero(sizes >= 0.1 * sizes.max()) + 1
        mask = np.isin(labels, keep)
    return mask
