"""ASF HyP3 InSAR products: one folder per pair.

Each product folder ``S1AA_<date1>T<time>_<date2>T<time>_VVP<days>_INT80_G_ueF_<id>`` holds
``<name>_unw_phase.tif``, ``<name>_corr.tif``, optional ``_dem``, ``_lv_theta``, ``_lv_phi``,
``_water_mask`` rasters, and ``<name>.txt`` with ``Key: value`` lines (``Baseline`` is the
pair's perpendicular baseline, metres). Phase uses 0 as nodata and each product is referenced
to its own point: the stack re-references every pair to one common pixel on read.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

import numpy as np

from ..dates import dates_in_name, format_yyyymmdd
from ..errors import StackError
from ..plausible import check_bperp
from ..raster_io import write_geotiff
from ..sources import FillSource, GdalSource
from ..stack import SENTINEL1_WAVELENGTH_M, Stack
from ..stack_types import Pair, SkippedFile
from .common import RasterInfo, align_rasters, check_phase_type, inspect_rasters

_AUXILIARY = ("dem", "lv_theta", "lv_phi", "water_mask")


_PHASE_SUFFIX = "_unw_phase.tif"


def _files(folder: Path) -> tuple[list[str], list[str]]:
    """The paths of the files one folder deep (``*/*``) and in the folder itself (``*``), each
    sorted: one listing of the folder (a stack holds thousands of files)."""
    deep: list[str] = []
    top: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return [], []
    for entry in entries:
        try:
            if entry.is_dir():
                with os.scandir(entry.path) as inner:
                    deep += [e.path for e in inner if e.is_file()]
            elif entry.is_file():
                top.append(entry.path)
        except OSError:
            continue
    return sorted(deep), sorted(top)


def _phase_files(listing: tuple[list[str], list[str]]) -> list[Path]:
    """Phase rasters of the products (``*_unw_phase.tif``, any case), one folder deep or in
    the folder itself."""
    def found(paths: list[str]) -> list[Path]:
        return [Path(p) for p in paths if p.lower().endswith(_PHASE_SUFFIX)]

    return found(listing[0]) or found(listing[1])


def _near_misses(listing: tuple[list[str], list[str]]) -> list[SkippedFile]:
    """Files that look like a product's phase raster but are not named
    ``<name>_unw_phase.tif`` (a truncated or decorated name): skipped, and said so."""
    return [SkippedFile(Path(p), f"named like a phase raster but not <name>{_PHASE_SUFFIX}")
            for paths in listing for p in paths
            if "unw_phase" in os.path.basename(p).lower()
            and not p.lower().endswith(_PHASE_SUFFIX)
            and not p.lower().endswith((".aux.xml", ".ovr", ".xml", ".png", ".kmz"))]


def hyp3_listing(folder: Path) -> tuple[list[str], list[str]] | None:
    """The folder's files (:func:`_files`) where it holds HyP3 ``*_unw_phase.tif`` products,
    else None: what :func:`read_hyp3` would list again, handed on by :func:`.open_stack`."""
    listing = _files(folder)
    return listing if _phase_files(listing) else None


def read_hyp3_metadata(path: Path) -> dict[str, str]:
    """Parse a HyP3 ``<name>.txt`` file of ``Key: value`` lines."""
    meta: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if ":" in line:
                key, value = line.split(":", 1)
                meta[key.strip()] = value.strip()
    return meta


def read_hyp3(folder: str | Path,
              listing: tuple[list[str], list[str]] | None = None) -> Stack:
    """Open a folder of HyP3 InSAR products as a stack (``listing``: its files, where the
    caller has just listed them: :func:`hyp3_listing`).

    Raises
    ------
    StackError
        When no product can be used (the message says why for the first few).
    """
    folder = Path(folder)
    skipped: list[SkippedFile] = []
    warnings: list[str] = []
    found: dict[tuple[date, date], tuple[RasterInfo, RasterInfo | None, float]] = {}
    listing = listing if listing is not None else _files(folder)
    phase_paths = _phase_files(listing)
    skipped += _near_misses(listing)

    def coherence_of(phase_path: Path) -> Path:
        return phase_path.with_name(f"{phase_path.name[: -len(_PHASE_SUFFIX)]}_corr.tif")

    listed = set(listing[0]) | set(listing[1])
    headers = inspect_rasters(phase_paths + [coherence_of(p) for p in phase_paths
                                             if str(coherence_of(p)) in listed])
    for phase_path in phase_paths:
        name = phase_path.name[: -len(_PHASE_SUFFIX)]
        day_list = dates_in_name(name)
        if len(day_list) < 2:
            skipped.append(SkippedFile(phase_path, "product name does not contain two dates"))
            continue
        d1, d2 = day_list[0], day_list[1]
        if d1 >= d2:
            skipped.append(SkippedFile(phase_path, f"first date {d1} is not before {d2}"))
            continue
        if (d1, d2) in found:
            skipped.append(SkippedFile(phase_path, "duplicate product for pair "
                                                   f"{format_yyyymmdd(d1)}_{format_yyyymmdd(d2)}"))
            continue
        meta_path = phase_path.with_name(f"{name}.txt")
        try:
            meta = read_hyp3_metadata(meta_path)
            bperp = check_bperp(meta["Baseline"])
        except FileNotFoundError:
            skipped.append(SkippedFile(meta_path, "metadata file missing (needed for the "
                                                  "baseline)"))
            continue
        except OSError as exc:
            skipped.append(SkippedFile(meta_path, f"cannot read ({exc.strerror or exc})"))
            continue
        except KeyError:
            skipped.append(SkippedFile(meta_path, "no 'Baseline:' line"))
            continue
        except ValueError as exc:
            skipped.append(SkippedFile(meta_path, f"'Baseline:' line: {exc}"))
            continue
        try:
            phase_info = headers[phase_path]
            if isinstance(phase_info, StackError):
                raise phase_info
            check_phase_type(phase_info)
        except StackError as exc:
            skipped.append(SkippedFile(phase_path, exc.problem))
            continue
        coherence_path = coherence_of(phase_path)
        coherence_info = headers.get(coherence_path)
        if isinstance(coherence_info, StackError):
            skipped.append(SkippedFile(coherence_path, coherence_info.problem
                                       + "; pair kept without coherence"))
            coherence_info = None
        found[(d1, d2)] = (phase_info, coherence_info, bperp)
    if not found:
        detail = "; ".join(str(s) for s in skipped[:5])
        raise StackError(folder, "no usable HyP3 product (<name>_unw_phase.tif with <name>.txt)"
                                 + (f"; skipped: {detail}" if detail else ""))
    infos = [v[0] for v in found.values()] + [v[1] for v in found.values() if v[1] is not None]
    aligned = align_rasters(infos, "HyP3")
    skipped += aligned.skipped
    pairs, phase_sources, coherence_sources = [], [], []
    for (d1, d2), (phase_info, coherence_info, bperp) in sorted(found.items()):
        if phase_info.path not in aligned.offsets:
            continue
        pairs.append(Pair(d1, d2, bperp))
        phase_sources.append(GdalSource(phase_info.path, 0.0, *aligned.offsets[phase_info.path]))
        if coherence_info is not None and coherence_info.path in aligned.offsets:
            coherence_sources.append(
                GdalSource(coherence_info.path, 0.0, *aligned.offsets[coherence_info.path]))
        else:
            coherence_sources.append(FillSource())
    if any((i.width, i.height) != (aligned.grid.width, aligned.grid.height) for i in infos):
        warnings.append("products differ in extent; using their common overlap "
                        f"{aligned.grid.width}x{aligned.grid.height} pixels")
    return Stack(
        path=folder,
        format_name="hyp3",
        pairs=pairs,
        phase_sources=phase_sources,
        coherence_sources=coherence_sources,
        grid=aligned.grid,
        wavelength_m=SENTINEL1_WAVELENGTH_M,
        skipped=skipped,
        warnings=warnings,
        metadata={"processor": "hyp3", "baseline_source": "HyP3 .txt 'Baseline'"},
    )


def hyp3_product_name(date1: date, date2: date, *, platform: str = "S1AA",
                      time_of_day: str = "120000", product_id: str | None = None) -> str:
    """A HyP3 INSAR_GAMMA product name for a pair."""
    product_id = product_id or secrets.token_hex(2).upper()
    days = (date2 - date1).days
    return (f"{platform}_{format_yyyymmdd(date1)}T{time_of_day}_{format_yyyymmdd(date2)}"
            f"T{time_of_day}_VVP{days:03d}_INT80_G_ueF_{product_id}")


def write_hyp3(
    stack: Stack,
    out_dir: str | Path,
    *,
    auxiliary: dict[str, np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """Write a stack as HyP3 INSAR_GAMMA products, one folder per pair.

    Each pair is referenced to its own highest-coherence pixel (as HyP3 does), nodata is 0,
    and ``auxiliary`` rasters (keys among ``dem``, ``lv_theta``, ``lv_phi``, ``water_mask``,
    each shape (rows, cols)) are written into every product.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    auxiliary = auxiliary or {}
    for i, pair in enumerate(stack.pairs):
        name = hyp3_product_name(pair.date1, pair.date2,
                                 product_id=f"{rng.integers(0, 16**4):04X}")
        product = out_dir / name
        phase = stack.read_phase(i, referenced=False)
        coherence = stack.read_coherence(i)
        valid = np.isfinite(phase)
        score = np.where(valid, np.nan_to_num(coherence, nan=0.0) if coherence is not None
                         else 1.0, -1.0)
        ref = np.unravel_index(int(np.argmax(score)), phase.shape)
        phase = phase - phase[ref]
        phase[~valid] = 0.0
        phase[valid & (phase == 0.0)] = np.float32(1e-7)  # keep the reference pixel valid
        write_geotiff(product / f"{name}_unw_phase.tif", phase.astype(np.float32), stack.grid,
                      nodata=0.0)
        if coherence is not None:
            write_geotiff(product / f"{name}_corr.tif",
                          np.nan_to_num(coherence, nan=0.0).astype(np.float32), stack.grid,
                          nodata=0.0)
        for key in _AUXILIARY:
            if key in auxiliary:
                write_geotiff(product / f"{name}_{key}.tif", auxiliary[key], stack.grid,
                              nodata=0.0 if key != "water_mask" else None)
        (product / f"{name}.txt").write_text(
            _metadata_text(pair, name, ref, rng), encoding="utf-8")
    return out_dir


def _metadata_text(pair: Pair, name: str, ref: tuple[int, int], rng: np.random.Generator) -> str:
    def granule(day: date) -> str:
        stamp = format_yyyymmdd(day)
        return (f"S1A_IW_SLC__1SDV_{stamp}T120000_{stamp}T120027_"
                f"{rng.integers(10000, 60000):06d}_{rng.integers(0, 16**6):06X}_"
                f"{rng.integers(0, 16**4):04X}")

    orbit = int(rng.integers(10000, 60000))
    lines = {
        "Reference Granule": granule(pair.date1),
        "Secondary Granule": granule(pair.date2),
        "Reference Pass Direction": "ASCENDING",
        "Reference Orbit Number": str(orbit),
        "Secondary Pass Direction": "ASCENDING",
        "Secondary Orbit Number": str(orbit + 175 * pair.days // 12),
        "Baseline": f"{pair.bperp_m:.4f}",
        "UTC time": "43220.123456",
        "Heading": "-12.2743",
        "Spacecraft height": "693000.0",
        "Earth radius at nadir": "6337286.638938101",
        "Slant range near": "799085.0",
        "Slant range center": "878333.0",
        "Slant range far": "957580.0",
        "Range looks": "20",
        "Azimuth looks": "4",
        "INSAR phase filter": "adf",
        "Phase filter parameter": "0.6",
        "Range bandpass filter": "no",
        "Azimuth bandpass filter": "no",
        "DEM source": "GLO-30",
        "DEM resolution (m)": "80",
        "Unwrapping type": "mcf",
        "Speckle filter": "yes",
        "Reference point (row, col)": f"{ref[0]} {ref[1]}",
    }
    return "".join(f"{key}: {value}\n" for key, value in lines.items())
