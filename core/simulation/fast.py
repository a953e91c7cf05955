"""A fast simulation mode for frame-sized stacks: written as HyP3 products pair by pair.

:func:`~.simulator.simulate` holds the whole stack in memory and draws every field at full
resolution, which a Sentinel-1 frame at 80 m (about 2,500 x 3,000 px, 100+ dates, 400+ pairs:
12 GB of phase and as much of coherence) does not allow. :func:`write_fast_hyp3` draws the same
kinds of content, streaming:

- per-date fields (atmosphere, the terrain, the land cover, unwrapping-error patches) at a
  coarse resolution (``coarse`` x the pixel), upsampled bilinearly per pair;
- deformation (bowls, regional tilt, seasonal term), the DEM error term and orbital ramps at
  full resolution, from closed forms;
- decorrelation noise and coherence estimation noise from a few precomputed noise tiles, two
  of different periods shifted per pair (so the sum does not repeat across a frame);
- the same degradations (unwrapping errors, decorrelation, strong atmosphere, orbital ramps),
  small local unwrapping errors, unwrapper holes, water and truth labels measured with the
  thresholds of :mod:`.config`.

Only one pair is in memory at a time per thread, and each is written at once as a HyP3
INSAR_GAMMA product (tiled, DEFLATE-compressed GeoTIFFs, each referenced to its own pixel,
0 as nodata, ``<name>.txt`` with the baseline), so ``sbas-selector`` opens the folder like any
HyP3 stack. Auxiliary rasters (DEM, look vectors, water mask) go into the first product only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
from scipy import ndimage, sparse

from ..dates import decimal_year, format_yyyymmdd
from ..formats.hyp3 import _metadata_text, hyp3_product_name
from ..raster_io import write_geotiff
from ..stack import SENTINEL1_WAVELENGTH_M
from ..stack_types import Grid, Pair
from .config import SimulationConfig
from .fields import irregular_patch, power_law_field, terrain
from .output import write_labels_csv
from .simulator import (
    CRITICAL_BASELINE_M,
    SLANT_RANGE_M,
    PairTruth,
    _assign_degradations,
    _choose_stormy_dates,
    _grid,
    _measure,
    choose_small_error_pairs,
    simulated_network,
    small_unwrapping_errors,
)

#: Side of the precomputed noise tiles, pixels (two periods: their sum does not repeat).
NOISE_TILES = (509, 512)
#: Noise tiles of each period.
TILES_PER_PERIOD = 4
#: Largest truth time series written (``timeseries.tif``), bytes: a frame's is skipped.
MAX_TIMESERIES_BYTES = 256 * 2**20
#: Side of the window a small local unwrapping error is grown in, pixels.
SMALL_ERROR_WINDOW = 256
#: Pixels the truth of a pair is measured on at most (a regular subsample).
TRUTH_PIXELS = 250_000


@dataclass(frozen=True)
class FastSimulation:
    """What :func:`write_fast_hyp3` wrote."""

    hyp3: Path
    truth: Path
    dates: list[date]
    pairs: list[Pair]
    truth_labels: list[PairTruth]
    grid: Grid

    @property
    def bytes_phase_and_coherence(self) -> int:
        """Phase plus coherence as float32 in memory, bytes."""
        return 2 * 4 * len(self.pairs) * self.grid.width * self.grid.height


def bilinear_upsampler(coarse: int, full: int) -> sparse.csr_matrix:
    """Interpolation weights from ``coarse`` samples to ``full`` pixels along one axis
    (sample centres spread evenly over the axis), shape (full, coarse)."""
    position = (np.arange(full) + 0.5) * coarse / full - 0.5
    position = np.clip(position, 0, coarse - 1)
    low = np.minimum(np.floor(position).astype(int), max(coarse - 2, 0))
    high = np.minimum(low + 1, coarse - 1)
    weight = (position - low).astype(np.float32)
    rows = np.repeat(np.arange(full), 2)
    cols = np.stack([low, high], axis=1).ravel()
    values = np.stack([1 - weight, weight], axis=1).ravel()
    return sparse.csr_matrix((values, (rows, cols)), shape=(full, coarse))


@dataclass(frozen=True)
class _Upsampler:
    rows: sparse.csr_matrix
    cols_t: sparse.csc_matrix

    def __call__(self, coarse: np.ndarray) -> np.ndarray:
        """A coarse field (cr, cc) at full resolution (rows, cols), float32."""
        return np.asarray(self.rows @ (np.asarray(coarse, np.float32) @ self.cols_t),
                          dtype=np.float32)


def _noise_tiles(rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Unit-std, slightly spatially correlated noise tiles (as filtered products), float32:
    per period of :data:`NOISE_TILES`, :data:`TILES_PER_PERIOD` tiles."""
    tiles = []
    for side in NOISE_TILES:
        group = []
        for _ in range(TILES_PER_PERIOD):
            white = ndimage.gaussian_filter(rng.standard_normal((side, side)), 0.7, mode="wrap")
            group.append((white / white.std()).astype(np.float32))
        tiles.append(group)
    return tiles


def _tiled_noise(tiles: list[list[np.ndarray]], shape: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """Unit-std noise of ``shape``: one tile of each period, shifted at random, summed."""
    rows, cols = shape
    out = np.zeros(shape, dtype=np.float32)
    for group in tiles:
        tile = group[int(rng.integers(len(group)))]
        side = tile.shape[0]
        r, c = (int(v) for v in rng.integers(0, side, 2))
        reps = (math.ceil((rows + r) / side), math.ceil((cols + c) / side))
        out += np.tile(tile, reps)[r:r + rows, c:c + cols]
    out *= np.float32(1 / math.sqrt(len(tiles)))
    return out


def _plane(shape: tuple[int, int], angle: float, quadratic: bool = False) -> np.ndarray:
    """A unit peak-to-peak ramp along ``angle`` (planar, or quadratic), float32."""
    rows, cols = shape
    y = (np.arange(rows, dtype=np.float32) / rows)[:, None]
    x = (np.arange(cols, dtype=np.float32) / cols)[None, :]
    u = np.float32(math.cos(angle)) * x + np.float32(math.sin(angle)) * y
    surface = u * u + np.float32(0.3) * u if quadratic else u
    surface -= surface.min()
    return surface / max(float(np.ptp(surface)), 1e-9)


@dataclass
class _Scene:
    """Everything shared by the pairs: fixed fields at full resolution, per-date fields at the
    coarse resolution."""

    cfg: SimulationConfig
    shape: tuple[int, int]
    coarse_shape: tuple[int, int]
    step: int
    up: _Upsampler
    dates: list[date]
    years: np.ndarray
    date_bperp: np.ndarray
    index_pairs: list[tuple[int, int]]
    pairs: list[Pair]
    grid: Grid
    dem: np.ndarray
    water: np.ndarray
    incidence_col: np.ndarray
    dem_error: np.ndarray
    velocity: np.ndarray
    seasonal_pattern: np.ndarray
    seasonal_phase: float
    atmosphere: np.ndarray          # (n_dates, cr, cc) mm of delay, coarse
    height_km: np.ndarray
    condition: np.ndarray
    date_ramp: list[tuple[float, float]]  # (angle, fringes) per date
    gamma0: np.ndarray
    gamma_inf: np.ndarray
    tau_days: np.ndarray
    degradations: dict[int, tuple[str, ...]]
    small_error_pairs: set[int]
    tiles: list[list[np.ndarray]]


def _scene(cfg: SimulationConfig, coarse: int) -> _Scene:
    rng = np.random.default_rng(cfg.seed)
    shape = (cfg.rows, cfg.cols)
    coarse_shape = (max(16, math.ceil(cfg.rows / coarse)), max(16, math.ceil(cfg.cols / coarse)))
    coarse_m = cfg.pixel_m * cfg.rows / coarse_shape[0]
    up = _Upsampler(bilinear_upsampler(coarse_shape[0], cfg.rows),
                    bilinear_upsampler(coarse_shape[1], cfg.cols).T.tocsc())
    dates, date_bperp, index_pairs, pairs = simulated_network(cfg, rng)
    years = np.array([decimal_year(d) for d in dates])

    dem_coarse = terrain(coarse_shape, rng, coarse_m, relief_m=rng.uniform(150, 1500),
                         base_m=500.0)
    water_coarse = np.zeros(coarse_shape, dtype=bool)
    if cfg.water_fraction > 0:
        water_coarse = irregular_patch(coarse_shape, cfg.water_fraction, rng, coarse_m,
                                       bias=-dem_coarse / np.ptp(dem_coarse))
    dem = up(dem_coarse)
    water = up(water_coarse.astype(np.float32)) > 0.5
    if water.any():
        dem = np.where(water, dem[water].min(), dem).astype(np.float32)
    land = ~water
    height_km = ((dem_coarse - dem[land].mean()) / 1000.0).astype(np.float32)
    incidence_col = np.deg2rad(33.0 + 10.0 * np.linspace(0.0, 1.0, cfg.cols)).astype(np.float32)
    tiles = _noise_tiles(rng)
    dem_error = _tiled_noise(tiles, shape, rng) * np.float32(cfg.dem_error_std_m)

    velocity, seasonal_pattern, seasonal_phase = _deformation(cfg, rng, dem_coarse, up)

    atmosphere_std = np.exp(rng.normal(np.log(cfg.atmosphere_median_mm), 0.4, len(dates)))
    stormy = _choose_stormy_dates(cfg, rng, len(dates), index_pairs)
    atmosphere_std[stormy] = rng.uniform(13.0, 22.0, len(stormy))
    atmosphere = np.empty((len(dates), *coarse_shape), dtype=np.float32)
    for k in range(len(dates)):
        turbulence = power_law_field(coarse_shape, 8.0 / 3.0, rng, coarse_m) * atmosphere_std[k]
        atmosphere[k] = turbulence + rng.normal(0.0, cfg.stratified_mm_per_km) * height_km
    condition = np.where(rng.random(len(dates)) < 0.1, rng.uniform(0.6, 0.85, len(dates)), 1.0)
    date_ramp = [(float(rng.uniform(0, 2 * np.pi)),
                  float(rng.uniform(0.0, cfg.orbit_ramp_max_fringes))) for _ in dates]

    broad = power_law_field(coarse_shape, 3.4, rng, coarse_m)
    fine = _tiled_noise(tiles, shape, rng)
    cover = 1.0 / (1.0 + np.exp(-1.5 * (0.85 * up(broad) + 0.35 * fine)))
    gamma0 = np.clip((0.55 + 0.4 * cover) * cfg.coherence_scale, 0.05, 0.98).astype(np.float32)
    gamma_inf = np.clip((0.02 + 0.55 * cover**2) * cfg.coherence_scale, 0.0,
                        0.9).astype(np.float32)
    tau_days = (15.0 + 400.0 * cover**2).astype(np.float32)
    degradations = _assign_degradations(cfg, rng, index_pairs, stormy)
    small_error_pairs, _ = choose_small_error_pairs(cfg, index_pairs, degradations, stormy)
    return _Scene(cfg, shape, coarse_shape, max(1, cfg.rows // coarse_shape[0]), up, dates,
                  years, date_bperp, index_pairs, pairs, _grid(cfg), dem, water, incidence_col,
                  dem_error, velocity, seasonal_pattern, seasonal_phase, atmosphere, height_km,
                  condition, date_ramp, gamma0, gamma_inf, tau_days, degradations,
                  small_error_pairs, tiles)


def _deformation(cfg: SimulationConfig, rng: np.random.Generator, dem_coarse: np.ndarray,
                 up: _Upsampler) -> tuple[np.ndarray, np.ndarray, float]:
    """Velocity (mm/yr, full resolution), the seasonal amplitude pattern (mm) and phase."""
    rows, cols = cfg.rows, cfg.cols
    y = np.arange(rows, dtype=np.float32)[:, None]
    x = np.arange(cols, dtype=np.float32)[None, :]
    velocity = np.zeros((rows, cols), dtype=np.float32)
    n_bowls = cfg.n_bowls if cfg.n_bowls is not None else int(rng.integers(1, 4))
    for _ in range(n_bowls):
        cy, cx = rng.uniform(0.15, 0.85) * rows, rng.uniform(0.15, 0.85) * cols
        radius_px = rng.uniform(cfg.min_bowl_radius_m, 2000.0) / cfg.pixel_m
        rate = -rng.uniform(0.15, 1.0) * cfg.max_subsidence_mm_yr
        distance2 = ((y - cy) ** 2 + (x - cx) ** 2) / np.float32(radius_px**2)
        velocity += np.float32(rate) * np.exp(-0.5 * distance2 ** np.float32(
            rng.uniform(0.8, 1.3)))
    tilt = rng.normal(0, 1.0, size=2) * cfg.regional_tilt_mm_yr
    velocity += np.float32(tilt[0]) * (x / cols - 0.5) + np.float32(tilt[1]) * (y / rows - 0.5)
    amplitude = rng.uniform(0, cfg.seasonal_amplitude_mm)
    low_ground = (dem_coarse < np.quantile(dem_coarse, 0.4)).astype(float)
    sigma = 4.0 * dem_coarse.shape[0] / rows  # 4 full pixels, as the normal simulator
    pattern = up(ndimage.gaussian_filter(low_ground, max(sigma, 0.5)) * amplitude)
    return velocity, pattern, float(rng.uniform(0, 2 * np.pi))


def _upsample_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A coarse boolean mask at full resolution (nearest)."""
    rows = np.minimum((np.arange(shape[0]) * mask.shape[0]) // shape[0], mask.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) * mask.shape[1]) // shape[1], mask.shape[1] - 1)
    return mask[rows[:, None], cols[None, :]]


def _simulate_pair(scene: _Scene, p: int) -> tuple[np.ndarray, np.ndarray, PairTruth,
                                                    np.random.Generator]:
    """Phase (radians, NaN missing, its own 2 pi k offset), observed coherence (NaN on water)
    and truth of pair ``p``; and the pair's random stream (for its metadata)."""
    cfg, shape = scene.cfg, scene.shape
    rng = np.random.default_rng([cfg.seed, 1000, p])
    i, j = scene.index_pairs[p]
    pair = scene.pairs[p]
    causes = scene.degradations.get(p, ())
    wavelength = SENTINEL1_WAVELENGTH_M
    to_phase = np.float32(4.0 * np.pi / (wavelength * 1000.0))

    gamma = (scene.gamma0 - scene.gamma_inf) * np.exp(-pair.days / scene.tau_days) \
        + scene.gamma_inf
    geometric = 1.0 - abs(pair.bperp_m) / CRITICAL_BASELINE_M
    gamma *= np.float32(geometric * scene.condition[i] * scene.condition[j])
    if "decorrelation" in causes:
        field = power_law_field(scene.coarse_shape, 3.0, rng, cfg.pixel_m * scene.step)
        gamma *= np.float32(rng.uniform(0.2, 0.45)) * np.exp(np.float32(0.3) * scene.up(field))
    gamma = np.where(scene.water, np.float32(0.03), np.clip(gamma, 0.0, 0.98))

    t = scene.years - scene.years[0]
    seasonal = np.sin(2 * np.pi * scene.years + scene.seasonal_phase)
    deformation_mm = scene.velocity * np.float32(t[j] - t[i]) \
        + scene.seasonal_pattern * np.float32(seasonal[j] - seasonal[i])
    delay_coarse = scene.atmosphere[j] - scene.atmosphere[i]
    delay_mm = scene.up(delay_coarse)
    signal = to_phase * (delay_mm - deformation_mm)
    dem_factor = (4 * np.pi / wavelength) * pair.bperp_m / (
        SLANT_RANGE_M * np.sin(scene.incidence_col))
    signal += scene.dem_error * dem_factor.astype(np.float32)[None, :]
    own_angle, own_fringes = float(rng.uniform(0, 2 * np.pi)), float(
        rng.uniform(0.0, 0.1 if cfg.orbit_ramp_max_fringes else 0.0))
    own = _plane(shape, own_angle) * np.float32(own_fringes * 2 * np.pi)
    if "orbital_ramp" in causes:
        own += _plane(shape, float(rng.uniform(0, 2 * np.pi)), bool(rng.random() < 0.3)) \
            * np.float32(rng.uniform(2.0, 4.0) * 2 * np.pi)
    fringes = float(np.ptp(own[::scene.step, ::scene.step])) / (2 * np.pi)
    for k, sign in ((j, 1.0), (i, -1.0)):
        angle, date_fringes = scene.date_ramp[k]
        signal += _plane(shape, angle) * np.float32(sign * date_fringes * 2 * np.pi)
    signal += own
    clipped = np.clip(gamma, 0.02, 0.999)
    sigma = np.minimum(np.sqrt(1.0 - clipped**2) / (clipped * np.float32(
        math.sqrt(2.0 * cfg.looks))), np.float32(1.8))
    signal += sigma * _tiled_noise(scene.tiles, shape, rng)

    holes = (gamma < 0.12) | scene.water
    unwrap_mask = np.zeros(shape, dtype=bool)
    if "unwrapping_error" in causes:
        step = scene.step
        coarse_patch = irregular_patch(
            scene.coarse_shape, rng.uniform(0.05, 0.25), rng, cfg.pixel_m * step,
            bias=-2.0 * _coarse(gamma, scene.coarse_shape),
            allowed=~_coarse(holes.astype(np.float32), scene.coarse_shape).astype(bool))
        unwrap_mask = _upsample_mask(coarse_patch, shape) & ~holes
        signal += np.float32(2 * np.pi * int(rng.choice([-2, -1, 1, 1, 2]))) * unwrap_mask
    small_pixels = 0
    if p in scene.small_error_pairs:
        small_pixels = _add_small_error(signal, gamma, holes, scene.water, rng)
    signal += np.float32(2 * np.pi * int(rng.integers(-8, 9)))
    signal[holes] = np.nan
    biased = np.sqrt(gamma**2 + (1.0 - gamma**2) / np.float32(40.0))
    observed = biased + np.float32(0.08) * _tiled_noise(scene.tiles, shape, rng) * (1.0 - biased)
    observed = np.clip(observed, 0.01, 1.0).astype(np.float32)
    observed[scene.water] = np.nan

    s = max(1, int(math.sqrt(gamma.size / TRUTH_PIXELS)))
    sub = (slice(None, None, s), slice(None, None, s))
    truth = _measure(pair.pair_id, ~holes[sub], ~scene.water[sub], gamma[sub], delay_mm[sub],
                     unwrap_mask[sub], fringes, observed[sub])
    if small_pixels:
        truth = PairTruth(**{**asdict(truth), "small_error_pixels": small_pixels})
    return signal, observed, truth, rng


def _coarse(values: np.ndarray, coarse_shape: tuple[int, int]) -> np.ndarray:
    """A full-resolution field sampled at the coarse grid (nearest)."""
    rows = np.minimum(((np.arange(coarse_shape[0]) + 0.5) * values.shape[0]
                       / coarse_shape[0]).astype(int), values.shape[0] - 1)
    cols = np.minimum(((np.arange(coarse_shape[1]) + 0.5) * values.shape[1]
                       / coarse_shape[1]).astype(int), values.shape[1] - 1)
    return values[rows[:, None], cols[None, :]]


def _add_small_error(signal: np.ndarray, gamma: np.ndarray, holes: np.ndarray,
                     water: np.ndarray, rng: np.random.Generator) -> int:
    """1-2 small +-1 cycle patches (:func:`~.simulator.small_unwrapping_errors`) grown in a
    window of :data:`SMALL_ERROR_WINDOW` pixels around the least coherent ground; added to
    ``signal`` in place. Returns their pixels."""
    rows, cols = gamma.shape
    side_r, side_c = min(SMALL_ERROR_WINDOW, rows), min(SMALL_ERROR_WINDOW, cols)
    r0 = int(rng.integers(0, rows - side_r + 1))
    c0 = int(rng.integers(0, cols - side_c + 1))
    box = (slice(r0, r0 + side_r), slice(c0, c0 + side_c))
    small = small_unwrapping_errors(gamma[box], holes[box], water[box], rng)
    signal[box] += np.float32(2 * np.pi) * small
    return int((small != 0).sum())


def _write_product(scene: _Scene, p: int, out_dir: Path, auxiliary: bool) -> PairTruth:
    phase, coherence, truth, rng = _simulate_pair(scene, p)
    pair = scene.pairs[p]
    name = hyp3_product_name(pair.date1, pair.date2,
                             product_id=f"{int(rng.integers(0, 16**4)):04X}")
    product = out_dir / name
    valid = np.isfinite(phase)
    score = np.where(valid, np.nan_to_num(coherence, nan=0.0), -1.0)
    ref = np.unravel_index(int(np.argmax(score)), phase.shape)
    phase -= phase[ref]
    phase[~valid] = 0.0
    phase[valid & (phase == 0.0)] = np.float32(1e-7)  # keep the reference pixel valid
    write_geotiff(product / f"{name}_unw_phase.tif", phase, scene.grid, nodata=0.0)
    del phase
    write_geotiff(product / f"{name}_corr.tif", np.nan_to_num(coherence, nan=0.0),
                  scene.grid, nodata=0.0)
    if auxiliary:
        incidence = np.broadcast_to(scene.incidence_col[None, :], scene.shape)
        for key, array in (("dem", scene.dem),
                           ("lv_theta", (np.pi / 2 - incidence).astype(np.float32)),
                           ("lv_phi", np.full(scene.shape, np.deg2rad(-102.27), np.float32)),
                           ("water_mask", (~scene.water).astype(np.uint8))):
            write_geotiff(product / f"{name}_{key}.tif", array, scene.grid,
                          nodata=0.0 if key != "water_mask" else None)
    (product / f"{name}.txt").write_text(
        _metadata_text(pair, name, (int(ref[0]), int(ref[1])), rng), encoding="utf-8")
    return truth


def write_fast_hyp3(cfg: SimulationConfig, out_dir: str | Path, *, coarse: int = 8,
                    threads: int = 2,
                    progress: Callable[[int, int], None] | None = None) -> FastSimulation:
    """Simulate a stack of any size and write it as HyP3 products, one pair at a time.

    Parameters
    ----------
    cfg
        The simulation's options (as :func:`~.simulator.simulate` takes them); the same
        config and seed write the same stack (not the same as :func:`~.simulator.simulate`'s).
    out_dir
        Folder to write: ``hyp3/`` (one product folder per pair) and ``truth/``
        (``labels.csv``, ``velocity.tif``, ``dem.tif``, ``config.json``, and
        ``timeseries.tif`` when it is at most :data:`MAX_TIMESERIES_BYTES`).
    coarse
        Per-date fields are drawn on a grid this many times coarser, then upsampled.
    threads
        Pairs simulated and written at once (numpy and GDAL release the GIL); memory is
        about 0.5 GB per thread for a 2,500 x 3,000 frame.
    progress
        Called with (pairs written, pairs).
    """
    if coarse < 1:
        raise ValueError(f"coarse must be at least 1, got {coarse}")
    out_dir = Path(out_dir)
    hyp3_dir = out_dir / "hyp3"
    hyp3_dir.mkdir(parents=True, exist_ok=True)
    scene = _scene(cfg, coarse)
    n = len(scene.pairs)
    truth: list[PairTruth] = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, result in enumerate(pool.map(
                lambda p: _write_product(scene, p, hyp3_dir, auxiliary=p == 0), range(n)),
                start=1):
            truth.append(result)
            if progress is not None:
                progress(done, n)
    truth_dir = _write_truth(scene, truth, out_dir / "truth", coarse)
    return FastSimulation(hyp3_dir, truth_dir, scene.dates, scene.pairs, truth, scene.grid)


def _write_truth(scene: _Scene, truth: list[PairTruth], folder: Path, coarse: int) -> Path:
    """``labels.csv`` (the columns of :func:`.output.write_truth` plus
    ``small_error_pixels``), velocity (mm/yr), DEM, config; the time series when small."""
    folder.mkdir(parents=True, exist_ok=True)
    write_labels_csv(folder / "labels.csv", scene.pairs, truth, small_error_pixels=True)
    velocity = np.where(scene.water, np.nan, scene.velocity).astype(np.float32)
    write_geotiff(folder / "velocity.tif", velocity, scene.grid,
                  tags={"UNITS": "mm/yr", "QUANTITY": "true LOS velocity, positive toward the "
                                                      "satellite"})
    write_geotiff(folder / "dem.tif", scene.dem, scene.grid, nodata=None, tags={"UNITS": "m"})
    rows, cols = scene.shape
    series_written = len(scene.dates) * rows * cols * 4 <= MAX_TIMESERIES_BYTES
    if series_written:
        t = (scene.years - scene.years[0]).astype(np.float32)
        seasonal = np.sin(2 * np.pi * scene.years + scene.seasonal_phase).astype(np.float32)
        series = (scene.velocity[None] * t[:, None, None]
                  + scene.seasonal_pattern[None] * (seasonal - seasonal[0])[:, None, None])
        series[:, scene.water] = np.nan
        write_geotiff(folder / "timeseries.tif", series, scene.grid,
                      band_descriptions=[format_yyyymmdd(d) for d in scene.dates],
                      tags={"UNITS": "mm",
                            "QUANTITY": "true LOS displacement since the first date"})
    config = asdict(scene.cfg)
    config["start"] = scene.cfg.start.isoformat()
    config["mode"] = {"fast": True, "coarse": coarse,
                      "timeseries": "written" if series_written else
                      f"not written (above {MAX_TIMESERIES_BYTES // 2**20} MiB)"}
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder
