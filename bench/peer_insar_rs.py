"""insar-rs as a peer of ``make bench-sbas``, one whole process: open, read, solve, write.

``python peer_insar_rs.py KEPT_LIST ROW,COL WAVELENGTH_M OUT_DIR`` reads the kept pairs' phase
with GDAL (nodata as NaN), references every pair to the pixel (ROW, COL), inverts with
``insar_rs.invert_sbas`` (unweighted SBAS, displacement increments between consecutive dates;
a pixel is solved with the pairs it has while they still connect every date, else left NaN; a
network split by the selection is refused) and fits the velocity with
``insar_rs.estimate_velocity`` (m/yr, LOS, positive toward the satellite: d = -λ/4π φ; years
of 365.25 days), and writes ``velocity.tif`` in mm/yr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import insar_rs
from peer_common import kept_files, pair_dates, read_phase, write_float_geotiff


def main(kept_list: str, reference: str, wavelength_m: str, out_dir: str) -> None:
    files = kept_files(kept_list)
    pairs = [pair_dates(f) for f in files]
    dates = sorted({d for pair in pairs for d in pair})
    index = {d: i for i, d in enumerate(dates)}
    epoch_days = [(d - dates[0]).days for d in dates]
    phase, grid = read_phase(files)
    row, col = (int(v) for v in reference.split(","))
    phase -= phase[:, row, col].copy()[:, None, None]
    series_m = insar_rs.invert_sbas(phase, [index[a] for a, _ in pairs],
                                    [index[b] for _, b in pairs], epoch_days,
                                    wavelength_m=float(wavelength_m))
    velocity_m_yr = insar_rs.estimate_velocity(series_m, epoch_days)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_float_geotiff(Path(out_dir) / "velocity.tif", velocity_m_yr * 1000.0, grid, "mm/yr")


if __name__ == "__main__":
    main(*sys.argv[1:5])
