"""A folder of GeoTIFFs whose names carry two dates (GAMMA, ISCE or hand-made exports).

Phase rasters are recognised by ``unw``/``phase`` in the name, coherence by ``cc``, ``coh``,
``cor`` or ``corr``; the two dates (``YYYYMMDD``) anywhere in the name. Baselines come from
GAMMA ``*_bperp.par`` files or a CSV (``date1,date2,bperp_m``) in the folder.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import numpy as np

from ..baselines import find_pair_baselines
from ..dates import dates_in_name, format_yyyymmdd
from ..errors import StackError
from ..plausible import check_bperp
from ..raster_io import write_geotiff
from ..sources import FillSource, GdalSource, RasterSource
from ..stack import SENTINEL1_WAVELENGTH_M, Stack
from ..stack_types import Pair, SkippedFile
from .common import (
    RasterInfo,
    align_rasters,
    check_phase_type,
    inspect_raster,
    wavelength_from_tags,
)

_COHERENCE_TOKENS = {"cc", "coh", "cor", "corr", "coherence"}
_PHASE_TOKENS = {"unw", "unwrapped", "phase", "unwrapphase"}
_AUXILIARY_TOKENS = {"dem", "hgt", "height", "mask", "inc", "incidence", "lv", "theta", "phi",
                     "velocity", "timeseries", "truth", "los"}


def _tokens(path: Path) -> set[str]:
    return {t.lower() for t in re.split(r"[_\-.]", path.stem) if t}


#: Files that accompany a raster (GDAL's sidecars, overviews, headers): never a stack member.
_SIDECAR_SUFFIXES = (".aux.xml", ".ovr", ".msk", ".xml", ".hdr", ".prj", ".qml", ".json",
                     ".csv", ".par", ".txt", ".png", ".kml")


def _raster_files(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.suffix.lower() in (".tif", ".tiff")]
    return sorted(p for p in files
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _near_misses(folder: Path) -> list[SkippedFile]:
    """Files named like a stack member (two dates, a phase or coherence word) that are not
    GeoTIFFs by name (``..._unw.ti``, ``..._unw.tif é``): skipped, and said so."""
    skipped = []
    for path in sorted(folder.rglob("*")):
        name = path.name.lower()
        if (path.is_dir() or path.suffix.lower() in (".tif", ".tiff")
                or name.endswith(_SIDECAR_SUFFIXES)
                or any(part.startswith(".") for part in path.relative_to(folder).parts)):
            continue
        if len(dates_in_name(path.name)) >= 2 and _tokens(path) & (_PHASE_TOKENS
                                                                   | _COHERENCE_TOKENS):
            skipped.append(SkippedFile(path, "named like an interferogram but not a .tif file"))
    return skipped


def looks_like_geotiff_stack(folder: Path) -> bool:
    """True if the folder holds at least one GeoTIFF whose name has two dates."""
    return any(len(dates_in_name(p.name)) >= 2 for p in _raster_files(folder))


def read_geotiff_folder(folder: str | Path) -> Stack:
    """Open a folder of dated GeoTIFFs as a stack.

    Raises
    ------
    StackError
        When no usable interferogram is found (the message lists what was skipped and why).
    """
    folder = Path(folder)
    skipped: list[SkippedFile] = []
    warnings: list[str] = []
    phase_files: dict[tuple[date, date], RasterInfo] = {}
    coherence_files: dict[tuple[date, date], RasterInfo] = {}
    skipped += _near_misses(folder)
    for path in _raster_files(folder):
        tokens = _tokens(path)
        is_coherence = bool(tokens & _COHERENCE_TOKENS)
        is_phase = bool(tokens & _PHASE_TOKENS) and not is_coherence
        found = dates_in_name(path.name)
        if len(found) < 2:
            if is_phase or is_coherence:
                skipped.append(SkippedFile(path, "the name does not contain two dates "
                                                 "(YYYYMMDD)"))
            continue  # DEM, masks, outputs: not part of the stack
        if not (is_phase or is_coherence) and tokens & _AUXILIARY_TOKENS:
            continue
        d1, d2 = found[0], found[1]
        if d1 >= d2:
            skipped.append(SkippedFile(path, f"first date {d1} is not before second date {d2}"))
            continue
        target = coherence_files if is_coherence else phase_files
        if (d1, d2) in target:
            skipped.append(SkippedFile(path, f"duplicate of {target[(d1, d2)].path.name} for "
                                             "the same pair"))
            continue
        try:
            info = inspect_raster(path)
            if not is_coherence:
                check_phase_type(info)
        except StackError as exc:
            skipped.append(SkippedFile(path, exc.problem))
            continue
        target[(d1, d2)] = info
    if not phase_files:
        detail = "; ".join(str(s) for s in skipped[:5])
        raise StackError(folder, "no interferograms found (GeoTIFFs named with two dates and "
                                 "'unw' or 'phase')" + (f"; skipped: {detail}" if detail else ""))

    aligned = align_rasters(list(phase_files.values()) + list(coherence_files.values()),
                            "interferogram")
    skipped += aligned.skipped
    usable = [key for key, info in phase_files.items() if info.path in aligned.offsets]
    if not usable:
        raise StackError(folder, "no interferogram is on a common grid; "
                                 + "; ".join(str(s) for s in aligned.skipped[:5]))

    baselines, baseline_source = find_pair_baselines(folder)
    if not baselines:
        warnings.append("no baselines found (GAMMA *_bperp.par or a CSV with date1,date2,bperp_m);"
                        " perpendicular baselines set to 0")
    missing_nodata = [phase_files[k].path.name for k in usable if phase_files[k].nodata is None]
    if missing_nodata:
        warnings.append(f"{len(missing_nodata)} phase raster(s) declare no nodata value "
                        f"(e.g. {missing_nodata[0]}); treating exact 0 as missing, as GAMMA and "
                        "HyP3 write it")

    pairs, phase_sources, coherence_sources = [], [], []
    for d1, d2 in sorted(usable):
        info = phase_files[(d1, d2)]
        if (d1, d2) in baselines:
            bperp = baselines[(d1, d2)]
        else:
            try:
                bperp = check_bperp(info.tags.get("BPERP", 0.0) or 0.0)
            except ValueError as exc:
                raise StackError(info.path, f"tag BPERP: {exc}") from None
        pairs.append(Pair(d1, d2, bperp))
        row_off, col_off = aligned.offsets[info.path]
        nodata = 0.0 if info.nodata is None else info.nodata
        phase_sources.append(GdalSource(info.path, nodata, row_off, col_off))
        coh = coherence_files.get((d1, d2))
        coherence_sources.append(_coherence_source(coh, aligned.offsets))
    with_coherence = sum(not isinstance(s, FillSource) for s in coherence_sources)
    if 0 < with_coherence < len(pairs):
        warnings.append(f"coherence found for {with_coherence} of {len(pairs)} pairs")
    first = phase_files[sorted(usable)[0]]
    try:
        wavelength = wavelength_from_tags(first.tags)
    except ValueError as exc:
        raise StackError(first.path, f"tag WAVELENGTH_METRES: {exc}") from None
    if wavelength is None:
        wavelength = SENTINEL1_WAVELENGTH_M
        warnings.append("no wavelength in the GeoTIFF tags (WAVELENGTH_METRES); assuming "
                        f"Sentinel-1 C-band {SENTINEL1_WAVELENGTH_M:.6f} m")
    return Stack(
        path=folder,
        format_name="geotiff",
        pairs=pairs,
        phase_sources=phase_sources,
        coherence_sources=coherence_sources if with_coherence else None,
        grid=aligned.grid,
        wavelength_m=wavelength,
        skipped=skipped,
        warnings=warnings,
        metadata={"baseline_source": baseline_source or "none",
                  "processor": first.tags.get("INSAR_PROCESSOR", "unknown")},
    )


def _coherence_source(info: RasterInfo | None,
                      offsets: dict[Path, tuple[int, int]]) -> RasterSource:
    if info is None or info.path not in offsets:
        return FillSource()
    row_off, col_off = offsets[info.path]
    scale = 1.0 / 255.0 if info.data_type == "Byte" else 1.0
    nodata = 0.0 if info.nodata is None else info.nodata
    return GdalSource(info.path, nodata, row_off, col_off, scale=scale)


def write_geotiff_folder(stack: Stack, out_dir: str | Path, *, referenced: bool = False) -> Path:
    """Write a stack as ``unw/<id>_unw.tif``, ``cc/<id>_cc.tif`` and ``baselines.csv``.

    Phase keeps NaN as nodata; tags carry the dates and the wavelength.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, pair in enumerate(stack.pairs):
        tags = {
            "FIRST_DATE": pair.date1.isoformat(),
            "SECOND_DATE": pair.date2.isoformat(),
            "WAVELENGTH_METRES": repr(stack.wavelength_m),
            "BPERP": f"{pair.bperp_m:.4f}",
            "DATA_UNITS": "RADIANS",
        }
        phase = stack.read_phase(i, referenced=referenced)
        write_geotiff(out_dir / "unw" / f"{pair.pair_id}_unw.tif", phase, stack.grid, tags=tags)
        coherence = stack.read_coherence(i)
        if coherence is not None:
            write_geotiff(out_dir / "cc" / f"{pair.pair_id}_cc.tif",
                          np.nan_to_num(coherence, nan=0.0), stack.grid, nodata=0.0,
                          tags={**tags, "DATA_UNITS": "COHERENCE"})
    with open(out_dir / "baselines.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date1", "date2", "bperp_m"])
        for pair in stack.pairs:
            writer.writerow([format_yyyymmdd(pair.date1), format_yyyymmdd(pair.date2),
                             f"{pair.bperp_m:.4f}"])
    return out_dir
