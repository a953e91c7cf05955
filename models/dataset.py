"""Training, validation and test data from the project's simulator (and the real stack).

Split by stack: validation and test stacks are never seen in training. The real Mexico City
stack (all pairs high quality) joins validation, never training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sbas_selector.core import open_stack
from sbas_selector.core.preprocess import MIN_VALID_SHARE, preprocess_pair, valid_share
from sbas_selector.core.simulation import CAUSES, SimulationConfig, simulate

SPLITS = {"train": range(0, 30), "val": range(100, 105), "test": range(200, 205)}
#: Stacks the CNN never saw, for fitting what is combined with it (``fit_evidence.py``); not a
#: split of the CNN's data (``build`` does not write them).
SPLITS_AFTER_TRAINING = {"calibration": range(300, 340)}


def stack_config(seed: int) -> SimulationConfig:
    """A varied stack: network density, size, deformation, atmosphere, coherence, causes."""
    rng = np.random.default_rng(10_000 + seed)
    weights = rng.dirichlet(np.ones(len(CAUSES)) * 2.0)
    return SimulationConfig(
        seed=seed,
        n_dates=int(rng.integers(18, 33)),
        rows=int(rng.choice([96, 128, 160, 192])),
        cols=int(rng.choice([96, 128, 160, 192])),
        max_days=int(rng.choice([48, 60, 72, 96])),
        max_bperp_m=float(rng.uniform(80, 200)),
        max_subsidence_mm_yr=float(rng.uniform(20, 350)),
        min_bowl_radius_m=float(rng.uniform(250, 500)),
        regional_tilt_mm_yr=float(rng.uniform(0, 250)),
        seasonal_amplitude_mm=float(rng.uniform(0, 10)),
        atmosphere_median_mm=float(rng.uniform(1.5, 5.0)),
        stratified_mm_per_km=float(rng.uniform(0, 6)),
        coherence_scale=float(rng.uniform(0.8, 1.35)),
        water_fraction=float(rng.uniform(0, 0.12)),
        low_quality_fraction=float(rng.uniform(0.25, 0.35)),
        cause_weights={c: float(w) for c, w in zip(CAUSES, weights)},
    )


def rewrapped_rgb(phase: np.ndarray, coherence: np.ndarray | None, size: int) -> np.ndarray:
    """The paper's input, for comparison only: the re-wrapped phase as a colour image (a cyclic
    HSV colour map, nodata black), resampled to ``size``. Shape (3, size, size)."""
    from sbas_selector.core.preprocess import _pool

    valid = np.isfinite(phase)
    wrapped = np.where(valid, np.angle(np.exp(1j * np.nan_to_num(phase))), 0.0)
    hue = (wrapped + np.pi) / (2 * np.pi)
    channels = []
    for shift in (0.0, 1 / 3, 2 / 3):  # a smooth cyclic RGB map of the hue
        channels.append(np.where(valid, 0.5 + 0.5 * np.cos(2 * np.pi * (hue - shift)), 0.0))
    weights = np.ones_like(hue)
    return np.stack([_pool(c, weights, size, "mean") for c in channels]).astype(np.float32)


def build(out_dir: Path, size: int, real_stack: Path | None,
          representation: str = "unw") -> dict:
    """Simulate every stack, preprocess every pair, save one ``.npz`` per split."""
    prepare = preprocess_pair if representation == "unw" else rewrapped_rgb
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for split, seeds in SPLITS.items():
        xs, ys, causes, stacks, pairs = [], [], [], [], []
        for seed in seeds:
            sim = simulate(stack_config(seed))
            stack = sim.to_stack()
            for i, truth in enumerate(sim.truth):
                phase, coherence = stack.read_phase(i), stack.read_coherence(i)
                if valid_share(phase) < MIN_VALID_SHARE:
                    continue
                xs.append(prepare(phase, coherence, size).astype(np.float16))
                ys.append(1 if truth.label == "high" else 0)
                causes.append(";".join(truth.causes))
                stacks.append(f"sim{seed}")
                pairs.append(truth.pair_id)
        if split == "val" and real_stack is not None:
            stack = open_stack(real_stack)
            for i in range(stack.n_pairs):
                xs.append(prepare(stack.read_phase(i), stack.read_coherence(i),
                                  size).astype(np.float16))
                ys.append(1)
                causes.append("")
                stacks.append("real_mexico_city")
                pairs.append(stack.pair_ids[i])
        np.savez_compressed(out_dir / f"{split}.npz", x=np.stack(xs), y=np.array(ys),
                            causes=np.array(causes), stacks=np.array(stacks),
                            pairs=np.array(pairs))
        summary[split] = {"interferograms": len(ys), "stacks": len(set(stacks)),
                          "low_share": round(1 - float(np.mean(ys)), 3),
                          "causes": {c: int(sum(c in s for s in causes)) for c in CAUSES}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
