"""Plausible ranges of what readers read: a value outside them is a corrupt file, not data.

The rule every reader follows: metadata that is absent gets a documented default and a
warning; metadata that is present but malformed or implausible is an error naming the file
(:class:`~.errors.StackError`), or, for one pair of a multi-file stack, that pair is skipped
with the reason. Raster values beyond :data:`PHASE_LIMIT_RAD` are read as missing.
"""

from __future__ import annotations

import math

#: Largest perpendicular baseline accepted, metres. Spaceborne SAR baselines stay within the
#: critical baseline (about 5 km for Sentinel-1, some 15 km for L-band): 20 km is generous.
BPERP_LIMIT_M = 20_000.0

#: Radar wavelengths accepted, metres: Ka band (8 mm) to P band (0.7 m), with margin.
WAVELENGTH_RANGE_M = (0.005, 1.0)

#: Largest unwrapped phase magnitude read as data, radians (about 1,600 cycles: 44 m of
#: line-of-sight motion at C band in one interferogram). Larger values, and infinities, are
#: fill values or corrupt bytes, and are read as missing.
PHASE_LIMIT_RAD = 1.0e4

#: Largest raster accepted, pixels per layer (2^30: 4 GiB of float32 per layer).
MAX_PIXELS = 2**30

#: Largest LOS velocity written, mm/yr (10 m/yr): SBAS cannot measure faster motion (a
#: quarter wavelength per revisit is about 0.4 m/yr at C band with 12 days, 1.5 m/yr at L band
#: with 14 days; spatial unwrapping stretches that, not by 10 times). Beyond, a pixel's
#: solution is driven by corrupt phase: it is left NaN and counted in a warning.
VELOCITY_LIMIT_MM_YR = 1.0e4


def check_bperp(value: object) -> float:
    """A perpendicular baseline, metres, as a float.

    Raises
    ------
    ValueError
        When it is not a number, not finite, or beyond :data:`BPERP_LIMIT_M`.
    """
    number = _number(value, "perpendicular baseline")
    if not math.isfinite(number) or abs(number) > BPERP_LIMIT_M:
        raise ValueError(f"perpendicular baseline {value!r} m is not finite or beyond "
                         f"±{BPERP_LIMIT_M:g} m")
    return number


def check_wavelength(value: object) -> float:
    """A radar wavelength, metres, as a float.

    Raises
    ------
    ValueError
        When it is not a number or outside :data:`WAVELENGTH_RANGE_M`.
    """
    number = _number(value, "wavelength")
    low, high = WAVELENGTH_RANGE_M
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"wavelength {number:g} m is outside the {low * 1000:g} mm .. {high:g} m "
                         "of SAR sensors")
    return number


def check_grid_size(width: object, height: object) -> tuple[int, int]:
    """A raster's (width, height), pixels.

    Raises
    ------
    ValueError
        When either is not a positive integer or the raster exceeds :data:`MAX_PIXELS`.
    """
    try:
        w, h = int(str(width).strip()), int(str(height).strip())
    except ValueError:
        raise ValueError(f"grid size {width!r} x {height!r} is not two integers") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"grid size must be positive, got {w}x{h}")
    if w * h > MAX_PIXELS:
        raise ValueError(f"grid of {w}x{h} pixels is larger than {MAX_PIXELS} pixels per layer")
    return w, h


def _number(value: object, what: str) -> float:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
