"""dolphin as a peer of ``make bench-sbas``, one whole process: open, read, solve, write.

``python peer_dolphin.py KEPT_LIST ROW,COL WAVELENGTH_M OUT_DIR`` runs
``dolphin.timeseries.run`` on the kept pairs' phase rasters: least squares (``L2``; dolphin's
default is L1), referenced to the pixel (ROW, COL), outputs in metres (``wavelength``: positive
toward the satellite), the velocity fitted (``run_velocity``), no overviews (this project
writes none), two block threads (two cores). dolphin leaves every pixel that misses a kept pair
empty (its nodata, the input's 0) and fits the velocity to the time series from the second
date on (the first date, zero by definition, is not a point of its fit). It writes
``velocity.tif`` (m/yr) and one time-series raster per date into OUT_DIR.
"""

from __future__ import annotations

import sys

from dolphin.timeseries import InversionMethod, run
from peer_common import kept_files


def main(kept_list: str, reference: str, wavelength_m: str, out_dir: str) -> None:
    row, col = (int(v) for v in reference.split(","))
    run(kept_files(kept_list), None, out_dir, method=InversionMethod.L2, run_velocity=True,
        reference_point=(row, col), wavelength=float(wavelength_m), add_overviews=False,
        num_threads=2)


if __name__ == "__main__":
    main(*sys.argv[1:5])
