"""LiCSBAS ``GEOCml*`` folders.

``YYYYMMDD_YYYYMMDD/YYYYMMDD_YYYYMMDD.unw`` (float32, little-endian, 0 or NaN missing) and
``.cc`` (uint8, coherence x 255, 0 missing); ``EQA.dem_par`` (GAMMA DEM parameters: width,
nlines, corner_lat/lon of the upper-left pixel's centre, post_lat/lon); ``slc.mli.par``
(``radar_frequency``); ``baselines`` (per-date Bperp).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np

from ..baselines import read_licsbas_baselines
from ..dates import dates_in_name, format_yyyymmdd
from ..errors import StackError
from ..plausible import check_grid_size, check_wavelength
from ..raster_io import crs_wkt_from_epsg
from ..sources import FillSource, RawSource
from ..stack import SENTINEL1_WAVELENGTH_M, Stack
from ..stack_types import Grid, Pair, SkippedFile

_PAIR_DIR = re.compile(r"^\d{8}_\d{8}$")
_SPEED_OF_LIGHT = 299_792_458.0


def read_gamma_par(path: Path) -> dict[str, str]:
    """Parse a GAMMA ``key: value [unit]`` parameter file; values keep their first field."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if ":" in line:
                key, rest = line.split(":", 1)
                fields = rest.split()
                if fields:
                    values[key.strip()] = fields[0]
    return values


def looks_like_licsbas(folder: Path) -> bool:
    """True for a folder with ``EQA.dem_par`` or ``YYYYMMDD_YYYYMMDD/*.unw`` sub-folders."""
    return (folder / "EQA.dem_par").is_file() or any(folder.glob("*_*/*_*.unw"))


def read_licsbas(folder: str | Path) -> Stack:
    """Open a LiCSBAS ``GEOCml*`` folder as a stack.

    Raises
    ------
    StackError
        When ``EQA.dem_par`` is missing or unreadable, or no interferogram is usable.
    """
    folder = Path(folder)
    dem_par_path = folder / "EQA.dem_par"
    if not dem_par_path.is_file():
        raise StackError(dem_par_path, "missing: LiCSBAS needs EQA.dem_par for the grid")
    try:
        dem_par = read_gamma_par(dem_par_path)
        width, height = check_grid_size(dem_par["width"], dem_par["nlines"])
        lat0, lon0 = float(dem_par["corner_lat"]), float(dem_par["corner_lon"])
        dlat, dlon = float(dem_par["post_lat"]), float(dem_par["post_lon"])
        if not all(np.isfinite([lat0, lon0, dlat, dlon])) or dlat == 0 or dlon == 0:
            raise ValueError("corner and post values must be finite, posts non-zero")
    except KeyError as exc:
        raise StackError(dem_par_path, f"incomplete DEM parameters (no {exc.args[0]})") \
            from None
    except ValueError as exc:
        raise StackError(dem_par_path, f"bad DEM parameters ({exc})") from None
    except OSError as exc:
        raise StackError(dem_par_path, f"cannot read ({exc.strerror or exc})") from None
    grid = Grid(width, height, (lon0 - dlon / 2, dlon, 0.0, lat0 - dlat / 2, 0.0, dlat),
                crs_wkt_from_epsg(4326))
    warnings: list[str] = []
    wavelength = SENTINEL1_WAVELENGTH_M
    mli_par = folder / "slc.mli.par"
    if mli_par.is_file():
        try:
            frequency = read_gamma_par(mli_par).get("radar_frequency")
        except OSError as exc:
            raise StackError(mli_par, f"cannot read ({exc.strerror or exc})") from None
        if frequency is None:
            warnings.append(f"{mli_par}: no radar_frequency; assuming Sentinel-1 C-band")
        else:
            try:
                hertz = float(frequency)
                wavelength = check_wavelength(_SPEED_OF_LIGHT / hertz if hertz else 0.0)
            except ValueError as exc:
                raise StackError(mli_par, f"radar_frequency {frequency!r} Hz: {exc}") from None
    else:
        warnings.append("no slc.mli.par; assuming Sentinel-1 C-band wavelength")
    per_date: dict[date, float] = {}
    baselines_path = folder / "baselines"
    if baselines_path.is_file():
        try:
            per_date = read_licsbas_baselines(baselines_path)
        except ValueError as exc:
            raise StackError(baselines_path, str(exc).removeprefix(f"{baselines_path}: ")) \
                from None
        except OSError as exc:
            raise StackError(baselines_path, f"cannot read ({exc.strerror or exc})") from None
    else:
        warnings.append("no 'baselines' file; perpendicular baselines set to 0")

    skipped: list[SkippedFile] = []
    pairs, phase_sources, coherence_sources = [], [], []
    n_coherence = 0
    for pair_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not _PAIR_DIR.match(pair_dir.name):
            if dates_in_name(pair_dir.name) or any(pair_dir.glob("*.unw")):
                skipped.append(SkippedFile(pair_dir, "folder name is not exactly "
                                                     "YYYYMMDD_YYYYMMDD"))
            continue
        d1, d2 = dates_in_name(pair_dir.name)[:2] if len(dates_in_name(pair_dir.name)) >= 2 \
            else (None, None)
        unw = pair_dir / f"{pair_dir.name}.unw"
        if d1 is None or d2 is None:
            skipped.append(SkippedFile(pair_dir, "folder name is not two valid dates"))
            continue
        if d1 >= d2:
            skipped.append(SkippedFile(pair_dir, f"first date {d1} is not before {d2}"))
            continue
        if not unw.is_file():
            skipped.append(SkippedFile(unw, "missing"))
            continue
        expected = width * height * 4
        if unw.stat().st_size != expected:
            skipped.append(SkippedFile(unw, f"size {unw.stat().st_size} bytes; expected "
                                            f"{expected} (float32 {width}x{height}): truncated "
                                            "or from another grid"))
            continue
        if per_date and (d1 not in per_date or d2 not in per_date):
            warnings.append(f"{pair_dir.name}: date missing from 'baselines'; Bperp set to 0")
        bperp = per_date.get(d2, 0.0) - per_date.get(d1, 0.0) if per_date else 0.0
        pairs.append(Pair(d1, d2, bperp))
        phase_sources.append(RawSource(unw, "<f4", width, height, nodata=0.0))
        cc = pair_dir / f"{pair_dir.name}.cc"
        if cc.is_file() and cc.stat().st_size == width * height:
            coherence_sources.append(RawSource(cc, "u1", width, height, nodata=0.0,
                                               scale=1.0 / 255.0))
            n_coherence += 1
        else:
            if cc.exists():
                skipped.append(SkippedFile(cc, "wrong size; pair kept without coherence"))
            coherence_sources.append(FillSource())
    if not pairs:
        detail = "; ".join(str(s) for s in skipped[:5])
        raise StackError(folder, "no usable interferogram (YYYYMMDD_YYYYMMDD/*.unw)"
                                 + (f"; skipped: {detail}" if detail else ""))
    return Stack(
        path=folder,
        format_name="licsbas",
        pairs=pairs,
        phase_sources=phase_sources,
        coherence_sources=coherence_sources if n_coherence else None,
        grid=grid,
        wavelength_m=wavelength,
        skipped=skipped,
        warnings=warnings,
        metadata={"processor": "LiCSAR", "baseline_source": "baselines" if per_date else "none"},
    )


def write_licsbas(stack: Stack, folder: str | Path, *, referenced: bool = False) -> Path:
    """Write a stack as a LiCSBAS ``GEOCml*`` folder (the stack must be on a lat/lon grid)."""
    folder = Path(folder)
    grid = stack.grid
    if not grid.is_geographic:
        raise ValueError("LiCSBAS stacks are geocoded on a latitude/longitude (EQA) grid; this "
                         "stack is not")
    folder.mkdir(parents=True, exist_ok=True)
    x0, dx, _, y0, _, dy = grid.geotransform
    (folder / "EQA.dem_par").write_text(
        "Gamma DIFF&GEO DEM/MAP parameter file\n"
        "title: sbas_selector\nDEM_projection:     EQA\ndata_format:        REAL*4\n"
        f"width:              {grid.width}\nnlines:             {grid.height}\n"
        f"corner_lat:     {y0 + dy / 2!r}  decimal degrees\n"
        f"corner_lon:     {x0 + dx / 2!r}  decimal degrees\n"
        f"post_lat:       {dy!r}  decimal degrees\npost_lon:       {dx!r}  decimal degrees\n"
        "ellipsoid_name: WGS 84\n", encoding="utf-8")
    (folder / "slc.mli.par").write_text(
        "Gamma Interferometric SAR Processor (ISP) - Image Parameter File\n\n"
        f"radar_frequency:        {_SPEED_OF_LIGHT / stack.wavelength_m:.7e}  Hz\n"
        f"range_samples:   {grid.width}\nazimuth_lines:   {grid.height}\n", encoding="utf-8")
    per_date = dict(zip(stack.dates, stack.date_bperp_m))
    primary = stack.dates[0]
    with open(folder / "baselines", "w", encoding="utf-8") as handle:
        for day in stack.dates[1:]:
            handle.write(f"{format_yyyymmdd(primary)} {format_yyyymmdd(day)} "
                         f"{per_date[day] - per_date[primary]:.4f} {(day - primary).days:.1f}\n")
    for i, pair in enumerate(stack.pairs):
        pair_dir = folder / pair.pair_id
        pair_dir.mkdir(exist_ok=True)
        phase = np.nan_to_num(stack.read_phase(i, referenced=referenced), nan=0.0)
        phase.astype("<f4").tofile(pair_dir / f"{pair.pair_id}.unw")
        coherence = stack.read_coherence(i)
        if coherence is not None:
            scaled = np.clip(np.round(np.nan_to_num(coherence, nan=0.0) * 255), 0, 255)
            scaled.astype(np.uint8).tofile(pair_dir / f"{pair.pair_id}.cc")
    return folder
