"""The SBAS stack simulator: geometry, network, signals, noise, degradations, ground truth.

Phase convention (MintPy's): displacement = -wavelength / (4 pi) x phase, displacement positive
toward the satellite. Atmospheric delay lengthens the path, so it enters the phase with the
opposite sign of an uplift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import ndimage

from ..dates import decimal_year
from ..raster_io import crs_wkt_from_epsg
from ..sources import ArraySource
from ..stack import SENTINEL1_WAVELENGTH_M, Stack
from ..stack_types import Grid, Pair
from . import config as thresholds
from .config import CAUSES, SimulationConfig
from .fields import irregular_patch, power_law_field, terrain

SLANT_RANGE_M = 850_000.0
CRITICAL_BASELINE_M = 5_000.0


@dataclass(frozen=True)
class PairTruth:
    """Ground truth of one simulated pair: its label, why, and the measured evidence."""

    pair_id: str
    label: str  # "high" or "low"
    causes: tuple[str, ...]
    atmosphere_std_mm: float
    decorrelated_fraction: float
    unwrapping_error_fraction: float
    ramp_fringes: float
    mean_coherence: float
    small_error_pixels: int = 0


@dataclass
class SimulatedStack:
    """A simulated stack in memory, with its ground truth.

    Attributes
    ----------
    phase
        Unwrapped phase, radians, shape (n_pairs, rows, cols), NaN where missing; each pair
        carries its own constant 2 pi k offset, as real unwrapped products do.
    coherence
        Observed (biased, noisy) coherence, shape (n_pairs, rows, cols), NaN where missing.
    velocity_mm_yr
        True linear LOS velocity, mm/yr, shape (rows, cols), NaN on water.
    timeseries_mm
        True LOS displacement relative to the first date, mm, shape (n_dates, rows, cols).
    """

    config: SimulationConfig
    dates: list[date]
    pairs: list[Pair]
    grid: Grid
    wavelength_m: float
    phase: np.ndarray
    coherence: np.ndarray
    truth: list[PairTruth]
    velocity_mm_yr: np.ndarray
    timeseries_mm: np.ndarray
    dem_m: np.ndarray
    water_mask: np.ndarray
    incidence_rad: np.ndarray
    date_bperp_m: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    small_errors: dict[int, np.ndarray] = field(default_factory=dict)
    """Per pair index with small local unwrapping errors, the cycles added per pixel, int8,
    shape (rows, cols) (0 elsewhere): the per-pixel truth of what a repair should undo."""

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.truth]

    @property
    def low_quality_fraction(self) -> float:
        return float(np.mean([t.label == "low" for t in self.truth])) if self.truth else 0.0

    def to_stack(self) -> Stack:
        """The simulated stack as a :class:`Stack` (in memory)."""
        return Stack(
            path=f"<simulated seed {self.config.seed}>",
            format_name="memory",
            pairs=self.pairs,
            phase_sources=[ArraySource(a) for a in self.phase],
            coherence_sources=[ArraySource(a) for a in self.coherence],
            grid=self.grid,
            wavelength_m=self.wavelength_m,
            metadata={"processor": "sbas_selector simulator", "seed": self.config.seed},
        )


# ---- geometry and network -------------------------------------------------------------------
def acquisition_dates(cfg: SimulationConfig, rng: np.random.Generator) -> list[date]:
    """Sentinel-1-like acquisition dates: a fixed revisit with missed passes and a long gap."""
    dates: list[date] = []
    cycle = 0
    gap_at = (int(rng.integers(cfg.n_dates // 4, max(cfg.n_dates // 4 + 1, 3 * cfg.n_dates // 4)))
              if rng.random() < cfg.long_gap_probability else -1)
    while len(dates) < cfg.n_dates:
        if len(dates) == gap_at:
            cycle += int(rng.integers(4, 11))
            gap_at = -1
        if dates and rng.random() < cfg.missing_probability:
            cycle += 1
            continue
        dates.append(cfg.start + timedelta(days=cycle * cfg.revisit_days))
        cycle += 1
    return dates


def threshold_network(dates: list[date], date_bperp: np.ndarray, max_days: int,
                      max_bperp_m: float) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, within the temporal and perpendicular thresholds, plus every
    consecutive pair so that the network is connected."""
    pairs = set()
    for i in range(len(dates)):
        for j in range(i + 1, len(dates)):
            days = (dates[j] - dates[i]).days
            if days > max_days:
                break
            if abs(date_bperp[j] - date_bperp[i]) <= max_bperp_m:
                pairs.add((i, j))
        if i + 1 < len(dates):
            pairs.add((i, i + 1))
    return sorted(pairs)


def simulated_network(cfg: SimulationConfig, rng: np.random.Generator
                      ) -> tuple[list[date], np.ndarray, list[tuple[int, int]], list[Pair]]:
    """Acquisition dates, per-date perpendicular baselines (metres, first date 0), the
    threshold network as date indices (i, j) and as pairs: the first draws of a simulation."""
    dates = acquisition_dates(cfg, rng)
    date_bperp = np.clip(rng.normal(0.0, cfg.bperp_std_m, len(dates)), -150, 150)
    date_bperp -= date_bperp[0]
    index_pairs = threshold_network(dates, date_bperp, cfg.max_days, cfg.max_bperp_m)
    pairs = [Pair(dates[i], dates[j], float(date_bperp[j] - date_bperp[i]))
             for i, j in index_pairs]
    return dates, date_bperp, index_pairs, pairs


def _grid(cfg: SimulationConfig) -> Grid:
    if cfg.geographic:
        step = cfg.pixel_m / 111_320.0
        return Grid(cfg.cols, cfg.rows, (-99.30, step, 0.0, 19.50, 0.0, -step),
                    crs_wkt_from_epsg(4326))
    return Grid(cfg.cols, cfg.rows, (480_000.0, cfg.pixel_m, 0.0, 2_160_000.0, 0.0,
                                     -cfg.pixel_m), crs_wkt_from_epsg(32614))


# ---- signals ----------------------------------------------------------------------------------
def _deformation(cfg: SimulationConfig, rng: np.random.Generator, dem: np.ndarray,
                 years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Velocity (mm/yr) and displacement time series (mm, relative to the first date)."""
    rows, cols = cfg.rows, cfg.cols
    yy, xx = np.mgrid[0:rows, 0:cols].astype(float)
    velocity = np.zeros((rows, cols))
    n_bowls = cfg.n_bowls if cfg.n_bowls is not None else int(rng.integers(1, 4))
    for _ in range(n_bowls):
        cy, cx = rng.uniform(0.15, 0.85) * rows, rng.uniform(0.15, 0.85) * cols
        radius_px = rng.uniform(cfg.min_bowl_radius_m, 2000.0) / cfg.pixel_m
        rate = -rng.uniform(0.15, 1.0) * cfg.max_subsidence_mm_yr
        distance2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / radius_px**2
        velocity += rate * np.exp(-0.5 * distance2 ** rng.uniform(0.8, 1.3))
    # Regional deformation gradient (real signal: it may span several fringes, like the broad
    # ramp of every real Mexico City pair).
    tilt = rng.normal(0, 1.0, size=2) * cfg.regional_tilt_mm_yr
    velocity += tilt[0] * (xx / cols - 0.5) + tilt[1] * (yy / rows - 0.5)
    seasonal_amplitude = rng.uniform(0, cfg.seasonal_amplitude_mm)
    low_ground = (dem < np.quantile(dem, 0.4)).astype(float)
    seasonal_pattern = ndimage.gaussian_filter(low_ground, 4.0) * seasonal_amplitude
    phase0 = rng.uniform(0, 2 * np.pi)
    t = years - years[0]
    seasonal = np.sin(2 * np.pi * years[:, None, None] + phase0) * seasonal_pattern
    series = velocity[None] * t[:, None, None] + seasonal - seasonal[:1]
    return velocity, series


def _coherence_model(cfg: SimulationConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-pixel coherence parameters from a land-cover field: gamma0, gamma_inf, tau_days."""
    broad = power_law_field((cfg.rows, cfg.cols), 3.4, rng, cfg.pixel_m)
    fine = power_law_field((cfg.rows, cfg.cols), 1.5, rng, cfg.pixel_m)  # blocks, fields
    cover = 1.0 / (1.0 + np.exp(-1.5 * (0.85 * broad + 0.5 * fine)))  # 0: vegetation .. 1: urban
    gamma0 = np.clip((0.55 + 0.4 * cover) * cfg.coherence_scale, 0.05, 0.98)
    gamma_inf = np.clip((0.02 + 0.55 * cover**2) * cfg.coherence_scale, 0.0, 0.9)
    tau_days = 15.0 + 400.0 * cover**2
    return gamma0, gamma_inf, tau_days


def _observed_coherence(true_gamma: np.ndarray, rng: np.random.Generator,
                        window_looks: float = 40.0) -> np.ndarray:
    """Sample coherence as an estimator would report it: biased upward and noisy."""
    biased = np.sqrt(true_gamma**2 + (1.0 - true_gamma**2) / window_looks)
    noisy = biased + rng.normal(0.0, 0.08, size=true_gamma.shape) * (1.0 - biased)
    return np.clip(noisy, 0.01, 1.0)


def _phase_noise(gamma: np.ndarray, looks: float, rng: np.random.Generator) -> np.ndarray:
    """Decorrelation phase noise, radians, slightly spatially correlated (filtered products)."""
    gamma = np.clip(gamma, 0.02, 0.999)
    sigma = np.minimum(np.sqrt(1.0 - gamma**2) / (gamma * np.sqrt(2.0 * looks)), 1.8)
    white = ndimage.gaussian_filter(rng.standard_normal(gamma.shape), 0.7)
    white /= max(white.std(), 1e-9)
    return sigma * white


def _ramp(shape: tuple[int, int], fringes: float, rng: np.random.Generator,
          quadratic: bool) -> np.ndarray:
    """A planar (or quadratic) trend with ``fringes`` x 2 pi peak to peak, radians."""
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    angle = rng.uniform(0, 2 * np.pi)
    u = np.cos(angle) * xx / cols + np.sin(angle) * yy / rows
    surface = u**2 + 0.3 * u if quadratic else u
    surface = surface - surface.min()
    return surface / max(np.ptp(surface), 1e-9) * fringes * 2 * np.pi


def _fringes(ramp: np.ndarray) -> float:
    return float(np.ptp(ramp) / (2 * np.pi))


# ---- the simulation -----------------------------------------------------------------------
def simulate(cfg: SimulationConfig | None = None) -> SimulatedStack:
    """Simulate one stack (see the module docstring and ../shared/DESIGN.md)."""
    cfg = cfg or SimulationConfig()
    rng = np.random.default_rng(cfg.seed)
    shape = (cfg.rows, cfg.cols)
    wavelength = SENTINEL1_WAVELENGTH_M
    to_phase = 4.0 * np.pi / (wavelength * 1000.0)  # radians per mm of path

    dates, date_bperp, index_pairs, pairs = simulated_network(cfg, rng)
    years = np.array([decimal_year(d) for d in dates])

    dem = terrain(shape, rng, cfg.pixel_m, relief_m=rng.uniform(150, 1500), base_m=500.0)
    water = np.zeros(shape, dtype=bool)
    if cfg.water_fraction > 0:
        water = irregular_patch(shape, cfg.water_fraction, rng, cfg.pixel_m,
                                bias=-dem / np.ptp(dem))
        dem = np.where(water, dem[water].min() if water.any() else dem, dem)
    land = ~water
    cols_frac = np.linspace(0.0, 1.0, cfg.cols)[None, :].repeat(cfg.rows, 0)
    incidence = np.deg2rad(33.0 + 10.0 * cols_frac)
    dem_error = ndimage.gaussian_filter(rng.normal(0, 1, shape), 1.0)
    dem_error *= cfg.dem_error_std_m / max(dem_error.std(), 1e-9)

    velocity, series = _deformation(cfg, rng, dem, years)

    # Per-date atmosphere (mm of delay) and acquisition condition.
    atmosphere_std = np.exp(rng.normal(np.log(cfg.atmosphere_median_mm), 0.4, len(dates)))
    stormy = _choose_stormy_dates(cfg, rng, len(dates), index_pairs)
    atmosphere_std[stormy] = rng.uniform(13.0, 22.0, len(stormy))
    height_km = (dem - dem[land].mean()) / 1000.0
    atmosphere = np.empty((len(dates), *shape))
    for k in range(len(dates)):
        turbulence = power_law_field(shape, 8.0 / 3.0, rng, cfg.pixel_m) * atmosphere_std[k]
        stratified = rng.normal(0.0, cfg.stratified_mm_per_km) * height_km
        atmosphere[k] = turbulence + stratified
    condition = np.where(rng.random(len(dates)) < 0.1, rng.uniform(0.6, 0.85, len(dates)), 1.0)
    # Orbit errors belong to dates (they cancel around a loop); a pair's residual ramp is the
    # difference of its dates' plus a small processing residual of its own.
    date_ramps = np.array([_ramp(shape, rng.uniform(0.0, cfg.orbit_ramp_max_fringes), rng,
                                 quadratic=False)
                           for _ in dates])

    gamma0, gamma_inf, tau_days = _coherence_model(cfg, rng)
    degradations = _assign_degradations(cfg, rng, index_pairs, stormy)
    # Small local errors have their own random stream: the rest of the stack is unchanged.
    small_error_pairs, small_rng = choose_small_error_pairs(cfg, index_pairs, degradations,
                                                            stormy)
    small_errors: dict[int, np.ndarray] = {}

    n = len(pairs)
    phase = np.empty((n, *shape), dtype=np.float32)
    coherence = np.empty((n, *shape), dtype=np.float32)
    truth: list[PairTruth] = []
    for p, (pair, (i, j)) in enumerate(zip(pairs, index_pairs)):
        causes_injected = degradations.get(p, ())
        gamma = ((gamma0 - gamma_inf) * np.exp(-pair.days / tau_days) + gamma_inf)
        geometric = 1.0 - abs(pair.bperp_m) / CRITICAL_BASELINE_M
        gamma = gamma * geometric * condition[i] * condition[j]
        if "decorrelation" in causes_injected:
            gamma = gamma * rng.uniform(0.2, 0.45) * np.exp(
                0.3 * power_law_field(shape, 3.0, rng, cfg.pixel_m))
        gamma = np.where(water, 0.03, np.clip(gamma, 0.0, 0.98))

        deformation_mm = series[j] - series[i]
        delay_mm = atmosphere[j] - atmosphere[i]
        signal = -to_phase * deformation_mm + to_phase * delay_mm
        signal += (4 * np.pi / wavelength) * pair.bperp_m * dem_error / (
            SLANT_RANGE_M * np.sin(incidence))
        # The pair's own ramp (it does not close around loops) is what makes it low quality;
        # the difference of its dates' ramps closes and is absorbed like any per-date signal.
        own_ramp = _ramp(shape, rng.uniform(0.0, 0.1 if cfg.orbit_ramp_max_fringes else 0.0),
                         rng, False)
        if "orbital_ramp" in causes_injected:
            own_ramp += _ramp(shape, rng.uniform(2.0, 4.0), rng, quadratic=rng.random() < 0.3)
        fringes = _fringes(own_ramp)
        signal += date_ramps[j] - date_ramps[i] + own_ramp
        signal += _phase_noise(gamma, cfg.looks, rng)

        unwrap_mask = np.zeros(shape, dtype=bool)
        # The unwrapper's validity mask: smoothed coherence below a threshold, contiguous.
        holes = ndimage.gaussian_filter(gamma, 1.0) < 0.12
        holes = ndimage.binary_opening(holes) | water
        if "unwrapping_error" in causes_injected:
            unwrap_mask = irregular_patch(shape, rng.uniform(0.05, 0.25), rng, cfg.pixel_m,
                                          bias=-2.0 * gamma, allowed=~holes)
            k = int(rng.choice([-2, -1, 1, 1, 2]))
            signal = signal + 2 * np.pi * k * unwrap_mask
        if p in small_error_pairs:
            small = small_unwrapping_errors(gamma, holes, water, small_rng)
            if small.any():
                small_errors[p] = small
                signal = signal + 2 * np.pi * small
        signal += 2 * np.pi * int(rng.integers(-8, 9))  # the unwrapper's constant ambiguity
        signal[holes] = np.nan
        observed = _observed_coherence(gamma, rng)
        observed[water] = np.nan
        phase[p] = signal
        coherence[p] = observed

        valid = ~holes
        truth.append(_measure(pair.pair_id, valid, land, gamma, delay_mm, unwrap_mask,
                              fringes, observed, small_errors.get(p)))

    velocity = np.where(water, np.nan, velocity)
    series = np.where(water[None], np.nan, series)
    return SimulatedStack(
        config=cfg, dates=dates, pairs=pairs, grid=_grid(cfg), wavelength_m=wavelength,
        phase=phase, coherence=coherence, truth=truth,
        velocity_mm_yr=velocity.astype(np.float32), timeseries_mm=series.astype(np.float32),
        dem_m=dem.astype(np.float32), water_mask=water, incidence_rad=incidence,
        date_bperp_m=date_bperp,
        extras={"dem_error_m": dem_error.astype(np.float32),
                "atmosphere_std_mm": atmosphere_std},
        small_errors=small_errors,
    )


def small_unwrapping_errors(gamma: np.ndarray, holes: np.ndarray, water: np.ndarray,
                            rng: np.random.Generator) -> np.ndarray:
    """1-2 small patches of +-1 cycle, grown from decorrelated ground (next to the
    unwrapper's holes, or where coherence is lowest) along the least coherent pixels, as MCF
    and SNAPHU leave them.

    Parameters
    ----------
    gamma
        True coherence, shape (rows, cols).
    holes
        Pixels without phase (unwrapper mask and water), shape (rows, cols).
    water
        Water, shape (rows, cols): its shores are not decorrelated land.

    Returns
    -------
    numpy.ndarray
        Cycles added per pixel, int8, shape (rows, cols).
    """
    import heapq

    rows, cols = gamma.shape
    valid = ~holes
    n_valid = int(valid.sum())
    largest = max(thresholds.SMALL_ERROR_MIN_PIXELS,
                  int(thresholds.SMALL_ERROR_MAX_SHARE * n_valid))
    out = np.zeros(gamma.shape, dtype=np.int8)
    edge = ndimage.binary_dilation(holes & ~water, iterations=2) & valid
    # Seeds: the less coherent half of the decorrelated holes' edges, or else the least
    # coherent tenth of the ground.
    seeds = np.flatnonzero(edge.ravel())
    if seeds.size >= 10:
        values = gamma.ravel()[seeds]
        seeds = seeds[values <= np.median(values)]
    else:
        ranked = np.argsort(np.where(valid, gamma, np.inf).ravel())
        seeds = ranked[:max(10, n_valid // 10)]
    cost = np.where(valid, gamma + rng.uniform(0, 0.15, gamma.shape), np.inf)
    for _ in range(int(rng.integers(1, 3))):
        size = int(np.exp(rng.uniform(np.log(thresholds.SMALL_ERROR_MIN_PIXELS),
                                      np.log(largest + 1))))
        start = int(rng.choice(seeds))
        if out.ravel()[start]:
            continue
        cycles = int(rng.choice([-1, 1]))
        grown = np.zeros(gamma.shape, dtype=bool)
        frontier = [(0.0, start)]
        seen = {start}
        while frontier and grown.sum() < size:
            _, index = heapq.heappop(frontier)
            r, c = divmod(index, cols)
            if out[r, c] or not valid[r, c]:
                continue
            grown[r, c] = True
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < rows and 0 <= cc < cols and rr * cols + cc not in seen:
                    seen.add(rr * cols + cc)
                    heapq.heappush(frontier, (float(cost[rr, cc]), rr * cols + cc))
        if grown.sum() >= thresholds.SMALL_ERROR_MIN_PIXELS:
            out[grown] = cycles
    return out


def choose_small_error_pairs(cfg: SimulationConfig, index_pairs: list[tuple[int, int]],
                             degradations: dict[int, tuple[str, ...]],
                             stormy: np.ndarray) -> tuple[set[int], np.random.Generator]:
    """Clean pairs (no degradation, no stormy date) that get small local unwrapping errors,
    drawn from their own random stream (the rest of the stack is the same without them),
    and that stream, to draw the errors from."""
    small_rng = np.random.default_rng([cfg.seed, 12])
    stormy_set = set(stormy.tolist())
    return {p for p, (i, j) in enumerate(index_pairs)
            if p not in degradations and i not in stormy_set and j not in stormy_set
            and small_rng.random() < cfg.small_error_fraction}, small_rng


def _choose_stormy_dates(cfg: SimulationConfig, rng: np.random.Generator, n_dates: int,
                         index_pairs: list[tuple[int, int]]) -> np.ndarray:
    """Dates with strong atmosphere, enough to make about their share of low-quality pairs."""
    weights = cfg.cause_weights
    total = sum(weights.values())
    share = weights.get("strong_atmosphere", 0) / max(total, 1e-9)
    target = cfg.low_quality_fraction * len(index_pairs) * share
    chosen: list[int] = []
    affected: set[int] = set()
    for date_index in rng.permutation(n_dates):
        if len(affected) >= target * 0.8:
            break
        chosen.append(int(date_index))
        affected |= {p for p, (i, j) in enumerate(index_pairs) if date_index in (i, j)}
    return np.array(sorted(chosen), dtype=int)


def _assign_degradations(cfg: SimulationConfig, rng: np.random.Generator,
                         index_pairs: list[tuple[int, int]],
                         stormy: np.ndarray) -> dict[int, tuple[str, ...]]:
    """Which pairs get which injected degradation (strong atmosphere comes from the dates)."""
    stormy_set = set(stormy.tolist())
    n = len(index_pairs)
    affected = {p for p, (i, j) in enumerate(index_pairs) if i in stormy_set or j in stormy_set}
    target = round(cfg.low_quality_fraction * n) - len(affected)
    others = {c: w for c, w in cfg.cause_weights.items() if c != "strong_atmosphere" and w > 0}
    if target <= 0 or not others:
        return {}
    candidates = [p for p in rng.permutation(n) if p not in affected][:target]
    names = list(others)
    probabilities = np.array([others[c] for c in names]) / sum(others.values())
    assigned: dict[int, tuple[str, ...]] = {}
    for p in candidates:
        causes = {str(rng.choice(names, p=probabilities))}
        if rng.random() < 0.1:
            causes.add(str(rng.choice(names, p=probabilities)))
        assigned[int(p)] = tuple(sorted(causes))
    return assigned


def _measure(pair_id: str, valid: np.ndarray, land: np.ndarray, gamma: np.ndarray,
             delay_mm: np.ndarray, unwrap_mask: np.ndarray, fringes: float,
             observed: np.ndarray, small_errors: np.ndarray | None = None) -> PairTruth:
    """Label a pair from what was actually simulated, with the thresholds of DESIGN.md."""
    n_valid = max(int(valid.sum()), 1)
    unwrap_fraction = float((unwrap_mask & valid).sum() / n_valid)
    decorrelated = float(((gamma < thresholds.LOW_COHERENCE) | ~valid)[land].mean()) \
        if land.any() else 1.0
    atmosphere_std = float(np.std(delay_mm[valid])) if valid.any() else 0.0
    causes = []
    if unwrap_fraction >= thresholds.UNWRAP_AREA_MIN:
        causes.append("unwrapping_error")
    if decorrelated > thresholds.DECORRELATED_LAND_MIN:
        causes.append("decorrelation")
    if atmosphere_std > thresholds.ATMOSPHERE_STD_MAX_MM:
        causes.append("strong_atmosphere")
    if fringes > thresholds.RAMP_FRINGES_MAX:
        causes.append("orbital_ramp")
    return PairTruth(
        pair_id=pair_id,
        label="low" if causes else "high",
        causes=tuple(c for c in CAUSES if c in causes),
        atmosphere_std_mm=atmosphere_std,
        decorrelated_fraction=decorrelated,
        unwrapping_error_fraction=unwrap_fraction,
        ramp_fringes=float(fringes),
        mean_coherence=float(np.nanmean(observed)),
        small_error_pixels=0 if small_errors is None else int((small_errors != 0).sum()),
    )
