"""Helpers shared by the readers: inspecting rasters and aligning them on one grid."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StackError
from ..plausible import check_grid_size, check_wavelength
from ..stack_types import Grid, SkippedFile


@dataclass(frozen=True)
class RasterInfo:
    """What a reader needs to know of one raster file, read from its header."""

    path: Path
    width: int
    height: int
    geotransform: tuple[float, float, float, float, float, float]
    crs_wkt: str
    nodata: float | None
    data_type: str
    tags: dict[str, str] = field(default_factory=dict)


def inspect_raster(path: Path) -> RasterInfo:
    """Read a raster's header and its last row (to catch truncated files).

    Raises
    ------
    StackError
        When GDAL cannot open or read the file.
    """
    from osgeo import gdal

    gdal.UseExceptions()
    try:
        dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
        band = dataset.GetRasterBand(1)
        if not _last_block_present(dataset, band, path):
            band.ReadAsArray(0, dataset.RasterYSize - 1, dataset.RasterXSize, 1)
        check_grid_size(dataset.RasterXSize, dataset.RasterYSize)
        info = RasterInfo(
            path=path,
            width=dataset.RasterXSize,
            height=dataset.RasterYSize,
            geotransform=tuple(dataset.GetGeoTransform()),  # type: ignore[arg-type]
            crs_wkt=_crs_wkt(path, dataset),
            nodata=band.GetNoDataValue(),
            data_type=gdal.GetDataTypeName(band.DataType),
            tags=dict(dataset.GetMetadata() or {}),
        )
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise StackError(path, f"not a readable raster (corrupt or truncated?): {message}") from exc
    except ValueError as exc:
        raise StackError(path, str(exc)) from None
    finally:
        dataset = None
    return info


_CRS_BY_GEOKEYS: dict[bytes, str] = {}


def _crs_wkt(path: Path, dataset) -> str:
    """The raster's CRS as WKT, built once per distinct set of GeoTIFF keys."""
    from ..geotiff_keys import geokeys_signature

    sidecar = path.with_name(path.name + ".aux.xml")  # may override the keys (GDAL PAM)
    signature = (geokeys_signature(path)
                 if dataset.GetDriver().ShortName == "GTiff" and not sidecar.exists() else None)
    if signature is None:
        return dataset.GetProjection() or ""
    wkt = _CRS_BY_GEOKEYS.get(signature)
    if wkt is None:
        wkt = _CRS_BY_GEOKEYS[signature] = dataset.GetProjection() or ""
    return wkt


def inspect_rasters(paths: list[Path]) -> dict[Path, RasterInfo | StackError]:
    """:func:`inspect_raster` over many files: each file's result or its error.

    Headers of local files seen before, unchanged since, come from the user's data folder
    (:mod:`.header_cache`); the others are inspected one after another (GDAL opens a local
    header faster than threads can share the interpreter), or in a few threads for GDAL's
    network paths (``/vsicurl/``, ``/vsis3/``...), where each open waits on the network.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .header_cache import HeaderCache

    def inspect(path: Path) -> RasterInfo | StackError:
        try:
            return inspect_raster(path)
        except StackError as exc:
            return exc

    local = {path for path in paths if not str(path).startswith("/vsi")}
    cache = (HeaderCache(Path(os.path.commonpath([os.path.abspath(p) for p in local])))
             if local else None)
    found: dict[Path, RasterInfo | StackError] = {}
    todo = []
    for path in paths:
        remembered = cache.get(path) if cache is not None and path in local else None
        if remembered is None:
            todo.append(path)
        else:
            found[path] = remembered
    if len(local) < len(paths):
        with ThreadPoolExecutor(max_workers=8) as pool:
            found.update(zip(todo, pool.map(inspect, todo)))
    else:
        found.update((path, inspect(path)) for path in todo)
    if cache is not None:
        for path in todo:
            result = found[path]
            if isinstance(result, RasterInfo) and path in local:
                cache.put(result)
        cache.retain(list(local))
        cache.save()
    return {path: found[path] for path in paths}


def _last_block_present(dataset, band, path: Path) -> bool:
    """For a GeoTIFF, whether its last block lies within the file (no decompression needed).

    Raises RuntimeError when it does not (a truncated file); returns False when the check does
    not apply (other drivers), so the caller reads the last row instead.
    """
    if dataset.GetDriver().ShortName != "GTiff":
        return False
    block_x, block_y = band.GetBlockSize()
    last_x = (dataset.RasterXSize - 1) // block_x
    last_y = (dataset.RasterYSize - 1) // block_y
    offset = band.GetMetadataItem(f"BLOCK_OFFSET_{last_x}_{last_y}", "TIFF")
    size = band.GetMetadataItem(f"BLOCK_SIZE_{last_x}_{last_y}", "TIFF")
    if offset is None or size is None:
        return False
    if int(offset) + int(size) > path.stat().st_size:
        raise RuntimeError("the file ends before its last block (truncated)")
    return True


def _same_crs(wkt_a: str, wkt_b: str) -> bool:
    if wkt_a == wkt_b:
        return True
    if not wkt_a or not wkt_b:
        return False
    from osgeo import osr

    a, b = osr.SpatialReference(), osr.SpatialReference()
    a.ImportFromWkt(wkt_a)
    b.ImportFromWkt(wkt_b)
    return bool(a.IsSame(b))


@dataclass(frozen=True)
class AlignedGrid:
    """The common grid of a set of rasters, and where it sits inside each of them."""

    grid: Grid
    offsets: dict[Path, tuple[int, int]]
    skipped: list[SkippedFile]


def align_rasters(infos: list[RasterInfo], what: str) -> AlignedGrid:
    """Put rasters on one grid: the intersection of their extents on a shared pixel lattice.

    Rasters in another CRS or with another pixel size than the majority, or off its pixel
    lattice, are skipped with the reason; HyP3 products of one frame usually differ in extent
    by a few pixels, which the intersection absorbs.

    Raises
    ------
    StackError
        If nothing is left, or the extents do not overlap.
    """
    if not infos:
        raise StackError(Path("."), f"no {what} rasters to align")
    key_counts = Counter(
        (round(i.geotransform[1], 12), round(i.geotransform[5], 12)) for i in infos
    )
    pixel = key_counts.most_common(1)[0][0]
    crs_groups: list[tuple[str, int]] = []
    for info in infos:
        for n, (wkt, count) in enumerate(crs_groups):
            if _same_crs(wkt, info.crs_wkt):
                crs_groups[n] = (wkt, count + 1)
                break
        else:
            crs_groups.append((info.crs_wkt, 1))
    crs_wkt = max(crs_groups, key=lambda g: g[1])[0]
    reference = next(i for i in infos if _same_crs(i.crs_wkt, crs_wkt))
    x_ref, y_ref = reference.geotransform[0], reference.geotransform[3]
    dx, dy = pixel

    kept: list[tuple[RasterInfo, int, int]] = []
    skipped: list[SkippedFile] = []
    for info in infos:
        if not _same_crs(info.crs_wkt, crs_wkt):
            skipped.append(SkippedFile(info.path, "coordinate system differs from the rest of "
                                                  "the stack"))
            continue
        if (round(info.geotransform[1], 12), round(info.geotransform[5], 12)) != pixel:
            skipped.append(SkippedFile(
                info.path,
                f"pixel size {info.geotransform[1]:g} x {info.geotransform[5]:g} differs from "
                f"the stack's {dx:g} x {dy:g}"))
            continue
        col_shift = (info.geotransform[0] - x_ref) / dx
        row_shift = (info.geotransform[3] - y_ref) / dy
        if abs(col_shift - round(col_shift)) > 1e-3 or abs(row_shift - round(row_shift)) > 1e-3:
            skipped.append(SkippedFile(
                info.path, "not on the same pixel grid as the rest of the stack (origin off by "
                           "a fraction of a pixel)"))
            continue
        kept.append((info, round(row_shift), round(col_shift)))
    if not kept:
        raise StackError(reference.path, f"no two {what} rasters share a grid")
    row0 = max(r for _, r, _ in kept)
    col0 = max(c for _, _, c in kept)
    row1 = min(r + i.height for i, r, _ in kept)
    col1 = min(c + i.width for i, _, c in kept)
    if row1 <= row0 or col1 <= col0:
        raise StackError(reference.path, f"the {what} rasters do not overlap")
    grid = Grid(
        width=col1 - col0,
        height=row1 - row0,
        geotransform=(x_ref + col0 * dx, dx, 0.0, y_ref + row0 * dy, 0.0, dy),
        crs_wkt=crs_wkt,
    )
    offsets = {info.path: (row0 - r, col0 - c) for info, r, c in kept}
    return AlignedGrid(grid=grid, offsets=offsets, skipped=skipped)


def check_phase_type(info: RasterInfo) -> None:
    """Unwrapped phase must be floating point (radians)."""
    if not info.data_type.startswith("Float"):
        raise StackError(info.path, f"unwrapped phase is stored as {info.data_type}; expected "
                                    "floating-point radians (unknown nodata/scaling convention)")


def wavelength_from_tags(tags: dict[str, str]) -> float | None:
    """Radar wavelength (metres) from common GeoTIFF tags, if any.

    Raises
    ------
    ValueError
        When a wavelength tag is there but is not a plausible wavelength.
    """
    for key in ("WAVELENGTH_METRES", "WAVELENGTH", "wavelength", "WAVELENGTH_M"):
        if key in tags:
            return check_wavelength(tags[key])
    return None
