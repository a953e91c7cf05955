"""Options of the simulator, validated once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: Causes that make a pair low quality (../shared/DESIGN.md, "What low quality means").
CAUSES = ("unwrapping_error", "decorrelation", "strong_atmosphere", "orbital_ramp")

#: Thresholds that decide a pair's label from its measured ground truth.
UNWRAP_AREA_MIN = 0.02          # share of valid pixels offset by 2 pi k
SMALL_ERROR_MIN_PIXELS = 12     # smallest simulated local unwrapping error
SMALL_ERROR_MAX_SHARE = 0.01    # largest, share of the land
DECORRELATED_LAND_MIN = 0.60    # share of land with true coherence < 0.3
LOW_COHERENCE = 0.3
ATMOSPHERE_STD_MAX_MM = 11.0    # pair's atmospheric delay, std over the scene
RAMP_FRINGES_MAX = 1.5          # the pair's own (non-closing) trend, peak to peak


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that shapes a simulated stack; same config and seed, same stack.

    Parameters
    ----------
    seed
        Random seed.
    n_dates
        Acquisitions kept after gaps.
    rows, cols
        Grid size, pixels.
    pixel_m
        Ground pixel spacing, metres (HyP3 INT80: 80 m).
    geographic
        Put the grid in EPSG:4326 (LiCSBAS) instead of UTM.
    start
        First acquisition.
    revisit_days
        Nominal revisit (Sentinel-1: 12 days).
    missing_probability
        Chance that a scheduled acquisition is missing.
    long_gap_probability
        Chance of one long gap (4-10 cycles) somewhere in the series.
    bperp_std_m
        Spread of per-date perpendicular baselines (orbital tube), metres.
    max_days, max_bperp_m
        Network thresholds: pairs within both are formed (plus every consecutive pair).
    n_bowls
        Subsidence bowls; None draws 1-3.
    max_subsidence_mm_yr
        Fastest bowl rate (LOS, mm/yr, away from the satellite).
    min_bowl_radius_m
        Smallest bowl radius, metres (small and fast: real gradients above pi per pixel).
    regional_tilt_mm_yr
        Std of the regional deformation gradient across the scene, mm/yr (real signal).
    seasonal_amplitude_mm
        Largest seasonal amplitude, mm.
    atmosphere_median_mm
        Median per-date turbulent delay std over the scene, mm.
    stratified_mm_per_km
        Std of the per-date delay-height coefficient, mm per km of height.
    dem_error_std_m
        Std of the DEM error, metres.
    orbit_ramp_max_fringes
        Largest residual orbital ramp of one date, fringes across the scene (pairs take the
        difference of their dates', so these cancel around a loop).
    coherence_scale
        Multiplies the land-cover coherence (lower: more decorrelated scene).
    looks
        Effective number of looks for the phase noise (HyP3: 20 x 4 looks, then filtered).
    water_fraction
        Share of the scene under water (masked, no data).
    low_quality_fraction
        Target share of low-quality pairs.
    small_error_fraction
        Share of the otherwise clean pairs that carry 1-2 small local unwrapping errors
        (about 12 pixels to 1% of the land, +-1 cycle, next to decorrelated ground): still
        high quality, but to be repaired (drawn from their own random stream, so the rest of
        the stack is the same with or without them).
    cause_weights
        Relative frequency of each degradation cause (keys from CAUSES).
    """

    seed: int = 0
    n_dates: int = 30
    rows: int = 128
    cols: int = 128
    pixel_m: float = 80.0
    geographic: bool = False
    start: date = date(2019, 1, 4)
    revisit_days: int = 12
    missing_probability: float = 0.08
    long_gap_probability: float = 0.3
    bperp_std_m: float = 45.0
    max_days: int = 72
    max_bperp_m: float = 150.0
    n_bowls: int | None = None
    max_subsidence_mm_yr: float = 120.0
    min_bowl_radius_m: float = 400.0
    regional_tilt_mm_yr: float = 1.5
    seasonal_amplitude_mm: float = 6.0
    atmosphere_median_mm: float = 3.0
    stratified_mm_per_km: float = 3.0
    dem_error_std_m: float = 3.0
    orbit_ramp_max_fringes: float = 0.15
    coherence_scale: float = 1.0
    looks: float = 40.0
    water_fraction: float = 0.05
    low_quality_fraction: float = 0.3
    small_error_fraction: float = 0.12
    cause_weights: dict[str, float] = field(default_factory=lambda: {
        "unwrapping_error": 0.3, "decorrelation": 0.25, "strong_atmosphere": 0.2,
        "orbital_ramp": 0.25})

    def __post_init__(self) -> None:
        if self.n_dates < 3:
            raise ValueError(f"n_dates must be at least 3, got {self.n_dates}")
        if self.rows < 16 or self.cols < 16:
            raise ValueError(f"grid must be at least 16x16 pixels, got {self.rows}x{self.cols}")
        if not 0.0 <= self.low_quality_fraction <= 0.9:
            raise ValueError("low_quality_fraction must be within 0..0.9")
        if not 0.0 <= self.small_error_fraction <= 1.0:
            raise ValueError("small_error_fraction must be within 0..1")
        if not 0.0 <= self.water_fraction <= 0.5:
            raise ValueError("water_fraction must be within 0..0.5")
        for name in ("missing_probability", "long_gap_probability"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be within 0..1")
        unknown = set(self.cause_weights) - set(CAUSES)
        if unknown:
            raise ValueError(f"unknown causes {sorted(unknown)}; choose from {CAUSES}")
        if any(w < 0 for w in self.cause_weights.values()):
            raise ValueError("cause weights must be non-negative")
        if self.max_days < self.revisit_days:
            raise ValueError("max_days must be at least one revisit")
