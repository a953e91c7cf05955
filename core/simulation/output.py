"""Write a simulated stack in each input format, plus its ground truth."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..dates import format_yyyymmdd
from ..formats.geotiff import write_geotiff_folder
from ..formats.hyp3 import write_hyp3
from ..formats.licsbas import write_licsbas
from ..formats.mintpy import write_mintpy
from ..raster_io import write_geotiff
from ..stack_types import Pair
from .simulator import PairTruth, SimulatedStack

#: Folder (or file) each format is written to, under the output folder.
FORMAT_TARGETS = {
    "hyp3": "hyp3",
    "mintpy": "mintpy",
    "licsbas": "GEOCml1",
    "geotiff": "geotiff",
}


def write_labels_csv(path: Path, pairs: Sequence[Pair], truth: Sequence[PairTruth], *,
                     small_error_pixels: bool = False) -> Path:
    """The truth per pair: label, causes and the measured evidence (with
    ``small_error_pixels``, also the pixels of its small local unwrapping errors)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pair_id", "date1", "date2", "days", "bperp_m", "label", "causes",
                         "atmosphere_std_mm", "decorrelated_fraction",
                         "unwrapping_error_fraction", "ramp_fringes", "mean_coherence"]
                        + (["small_error_pixels"] if small_error_pixels else []))
        for pair, item in zip(pairs, truth):
            writer.writerow([pair.pair_id, format_yyyymmdd(pair.date1),
                             format_yyyymmdd(pair.date2), pair.days, f"{pair.bperp_m:.3f}",
                             item.label, ";".join(item.causes),
                             f"{item.atmosphere_std_mm:.3f}",
                             f"{item.decorrelated_fraction:.4f}",
                             f"{item.unwrapping_error_fraction:.4f}",
                             f"{item.ramp_fringes:.3f}", f"{item.mean_coherence:.4f}"]
                            + ([item.small_error_pixels] if small_error_pixels else []))
    return path


def write_truth(sim: SimulatedStack, folder: Path) -> Path:
    """Ground truth: ``labels.csv`` (label and causes per pair), ``velocity.tif`` (mm/yr),
    ``timeseries.tif`` (mm, one band per date), ``dem.tif`` and ``config.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_labels_csv(folder / "labels.csv", sim.pairs, sim.truth)
    write_geotiff(folder / "velocity.tif", sim.velocity_mm_yr, sim.grid,
                  tags={"UNITS": "mm/yr", "QUANTITY": "true LOS velocity, positive toward the "
                                                      "satellite"})
    write_geotiff(folder / "timeseries.tif", sim.timeseries_mm, sim.grid,
                  band_descriptions=[format_yyyymmdd(d) for d in sim.dates],
                  tags={"UNITS": "mm", "QUANTITY": "true LOS displacement since the first date"})
    write_geotiff(folder / "dem.tif", sim.dem_m, sim.grid, nodata=None, tags={"UNITS": "m"})
    config = asdict(sim.config)
    config["start"] = sim.config.start.isoformat()
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


def write_simulation(sim: SimulatedStack, out_dir: str | Path,
                     formats: tuple[str, ...] = ("hyp3",)) -> dict[str, Path]:
    """Write the simulated stack in each format of ``formats`` and its truth.

    Returns
    -------
    dict
        Path written per format, and "truth".
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stack = sim.to_stack()
    written: dict[str, Path] = {}
    for fmt in formats:
        target = out_dir / FORMAT_TARGETS[fmt]
        if fmt == "hyp3":
            incidence = sim.incidence_rad.astype(np.float32)
            written[fmt] = write_hyp3(stack, target, seed=sim.config.seed, auxiliary={
                "dem": sim.dem_m,
                "lv_theta": (np.pi / 2 - incidence).astype(np.float32),
                "lv_phi": np.full_like(incidence, np.deg2rad(-102.27)),
                "water_mask": (~sim.water_mask).astype(np.uint8),
            })
        elif fmt == "mintpy":
            written[fmt] = write_mintpy(stack, target)
        elif fmt == "licsbas":
            written[fmt] = write_licsbas(stack, target)
        elif fmt == "geotiff":
            written[fmt] = write_geotiff_folder(stack, target)
        else:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMAT_TARGETS)}")
    written["truth"] = write_truth(sim, out_dir / "truth")
    return written
