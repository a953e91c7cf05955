"""The floor of ``make bench-sbas``: the least a whole SBAS process must do.

It reads the phase raster of every kept pair with GDAL (one read each) and does one matrix
product of the pseudo-inverse of the design (n_dates - 1 x n_pairs) with the phase stack
(n_pairs x n_pixels), nothing else: no referencing, no missing data, no output written. Run by
``bench_sbas.py`` as its own process: ``python floor.py KEPT_LIST`` (one phase file a line).
"""

from __future__ import annotations

import sys
from datetime import date

import numpy as np
from osgeo import gdal
from peer_common import kept_files, pair_dates


def incidence_matrix(pairs: list[tuple[date, date]]) -> np.ndarray:
    """Shape (n_pairs, n_dates - 1): -1 at a pair's first date, +1 at its second (the first
    date of the stack is the zero of the time series)."""
    dates = sorted({d for pair in pairs for d in pair})
    column = {d: i - 1 for i, d in enumerate(dates)}
    matrix = np.zeros((len(pairs), len(dates) - 1))
    for row, (first, second) in enumerate(pairs):
        if column[first] >= 0:
            matrix[row, column[first]] = -1.0
        matrix[row, column[second]] = 1.0
    return matrix


def main(kept_list: str) -> None:
    gdal.UseExceptions()
    files = kept_files(kept_list)
    first = gdal.Open(files[0])
    stack = np.empty((len(files), first.RasterYSize * first.RasterXSize), np.float32)
    for k, name in enumerate(files):
        stack[k] = gdal.Open(name).ReadAsArray().ravel()
    pinv = np.linalg.pinv(incidence_matrix([pair_dates(f) for f in files])).astype(np.float32)
    result = pinv @ stack
    print(result.shape)


if __name__ == "__main__":
    main(sys.argv[1])
