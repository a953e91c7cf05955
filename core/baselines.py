"""Perpendicular baselines: per-date values solved from pairs, and baseline file parsers."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from .dates import dates_in_name, parse_yyyymmdd
from .errors import StackError
from .plausible import check_bperp


def solve_date_baselines(
    dates: list[date], pairs: list[tuple[date, date, float]]
) -> np.ndarray:
    """Per-date perpendicular baselines from per-pair ones.

    Each pair gives ``b[date2] - b[date1] = bperp``; the earliest date of each connected piece
    of the network is held at 0 and the rest solved by least squares.

    Parameters
    ----------
    dates
        Sorted acquisition dates, length n_dates.
    pairs
        (date1, date2, bperp_m) per pair.

    Returns
    -------
    numpy.ndarray
        Baseline of each date relative to its piece's first date, metres, shape (n_dates,).
    """
    index = {day: i for i, day in enumerate(dates)}
    n_dates = len(dates)
    if n_dates == 0:
        return np.zeros(0)
    design = np.zeros((len(pairs), n_dates))
    observed = np.zeros(len(pairs))
    for row, (d1, d2, bperp) in enumerate(pairs):
        design[row, index[d1]] = -1.0
        design[row, index[d2]] = 1.0
        observed[row] = bperp
    # Hold the first date of every connected piece at zero.
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    edges = csr_matrix(
        (np.ones(len(pairs)), ([index[p[0]] for p in pairs], [index[p[1]] for p in pairs])),
        shape=(n_dates, n_dates),
    )
    _, component = connected_components(edges, directed=False)
    anchors = {int(c): i for i, c in reversed(list(enumerate(component)))}
    free = np.array([i not in anchors.values() for i in range(n_dates)])
    solution = np.zeros(n_dates)
    if free.any() and len(pairs):
        solution[free] = np.linalg.lstsq(design[:, free], observed, rcond=None)[0]
    return solution


def read_gamma_bperp_par(path: Path) -> float:
    """Scene-mean perpendicular baseline (metres) from a GAMMA ``base_perp`` table.

    The table follows a line of asterisks; column 8 (1-based) is Bperp at each sample point.
    """
    values: list[float] = []
    in_table = False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("****"):
                in_table = True
                continue
            if not in_table:
                continue
            fields = line.split()
            if len(fields) < 9:
                if values:
                    break
                continue
            try:
                values.append(float(fields[7]))
            except ValueError:
                break
    if not values:
        raise ValueError(f"{path}: no baseline table after the '****' line")
    try:
        return check_bperp(float(np.mean(values)))
    except ValueError as exc:
        raise StackError(path, f"baseline table: {exc}") from None


_BPERP_COLUMNS = ("bperp_m", "bperp", "baseline_m", "baseline", "b_perp")


#: Columns of the labels CSV this plugin exports: a CSV with them is a selection, never a
#: stack's baselines (``classify --out STACK/labels.csv`` must not change the next open).
_LABELS_COLUMNS = {"label", "source", "final_label"}


def read_baselines_csv(path: Path) -> dict[tuple[date, date], float]:
    """Pair baselines from a CSV with columns date1, date2 and a Bperp column (metres).

    Raises
    ------
    ValueError
        When the file is not a baselines table (other columns, a labels export).
    StackError
        When it is one but a row holds a bad date or an implausible baseline (line named).
    """
    out: dict[tuple[date, date], float] = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        fields = {name.strip().lower(): name for name in (reader.fieldnames or [])
                  if name is not None}
        column = next((fields[c] for c in _BPERP_COLUMNS if c in fields), None)
        if column is None or "date1" not in fields or "date2" not in fields:
            raise ValueError(f"{path}: needs columns date1, date2 and one of {_BPERP_COLUMNS}")
        if _LABELS_COLUMNS & set(fields):
            raise ValueError(f"{path}: a labels export, not a baselines table")
        for line, row in enumerate(reader, start=2):
            try:
                d1 = parse_yyyymmdd(row[fields["date1"]] or "")
                d2 = parse_yyyymmdd(row[fields["date2"]] or "")
                out[(d1, d2)] = check_bperp(row[column])
            except (ValueError, TypeError, AttributeError) as exc:
                raise StackError(path, f"line {line}: {exc}") from None
    return out


def read_licsbas_baselines(path: Path) -> dict[date, float]:
    """Per-date Bperp (metres) from a LiCSBAS/LiCSAR ``baselines`` file.

    Current format: ``primary secondary bperp btemp`` per line, the primary at 0.
    Old format: ``num date1 date2 bp dt dt1 dt2 bp1 bp2`` (per-date values in the last two).
    """
    per_date: dict[date, float] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            try:
                if len(fields) == 4:
                    per_date[parse_yyyymmdd(fields[0])] = 0.0
                    per_date[parse_yyyymmdd(fields[1])] = check_bperp(fields[2])
                elif len(fields) >= 9:
                    per_date[parse_yyyymmdd(fields[1])] = check_bperp(fields[7])
                    per_date[parse_yyyymmdd(fields[2])] = check_bperp(fields[8])
                else:
                    raise ValueError(f"unrecognised line {line.strip()[:60]!r}")
            except ValueError as exc:
                raise ValueError(f"{path}: line {number}: {exc}") from None
    return per_date


def find_pair_baselines(folder: Path) -> tuple[dict[tuple[date, date], float], str]:
    """Look for pair baselines in a folder: GAMMA ``*_bperp.par`` files, then CSV files.

    The processor's own baseline files win over a hand-made table when both are there.

    Returns
    -------
    (baselines, source)
        Baselines by (date1, date2), metres, and a short description of where they came from
        ("" when none were found).
    """
    baselines: dict[tuple[date, date], float] = {}
    for par in sorted(folder.rglob("*bperp*.par")):
        found = dates_in_name(par.name)
        if len(found) < 2:
            continue
        try:
            baselines[(found[0], found[1])] = read_gamma_bperp_par(par)
        except (ValueError, OSError):  # not a baseline table (a StackError is a bad one)
            continue
    if baselines:
        return baselines, "GAMMA *_bperp.par files (scene mean)"
    for csv_path in sorted(folder.rglob("*.csv")):
        try:
            baselines = read_baselines_csv(csv_path)
        except (ValueError, KeyError, OSError):  # not a baselines table
            continue
        if baselines:
            return baselines, f"CSV {csv_path.name}"
    return {}, ""
