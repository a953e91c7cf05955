"""GDAL-readable sources for showing a stack's rasters as map layers.

GeoTIFFs are shown as they are; MintPy HDF5 layers get a small VRT (with the stack's
geotransform and CRS) in the user's data folder; in-memory rasters a GeoTIFF there.

LiCSBAS raw rasters get a raw-band VRT written beside them, naming them relative to itself:
GDAL 3.12 and later refuse a ``VRTRawRasterBand`` whose source is not a sibling or child of the
VRT (``GDAL_VRT_RAWRASTERBAND_ALLOWED_SOURCE`` defaults to ``SIBLING_OR_CHILD_OF_VRT_PATH``;
a VRT able to read any file's bytes is a hazard), and that protection is left as it is. Where
the stack's folder is read-only, the raster is copied once into a GeoTIFF in the user's data
folder instead.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape  # nosec B406: escapes text we write, parses nothing

import numpy as np

from .paths import is_writable_folder, user_data_folder
from .raster_io import write_geotiff
from .sources import ArraySource, GdalSource, Hdf5Source, RawSource
from .stack import Stack


def layer_source(stack: Stack, index: int, kind: str = "phase") -> tuple[str, int] | None:
    """(GDAL path, band) of a pair's phase or coherence; None when the pair has none."""
    source = stack.source(index, kind)
    if source is None:
        return None
    pair_id = stack.pairs[index].pair_id
    folder = user_data_folder("layers", stack.path)
    if isinstance(source, GdalSource):
        return str(source.path), source.band
    if isinstance(source, Hdf5Source):
        path = folder / f"{pair_id}_{kind}.vrt"
        _write_vrt(path, stack, f'<SimpleSource><SourceFilename relativeToVRT="0">'
                                f'{escape(f"HDF5:{chr(34)}{source.path}{chr(34)}://{source.dataset}")}'
                                f'</SourceFilename><SourceBand>{source.index + 1}</SourceBand>'
                                f'</SimpleSource>', "Float32", nodata=0.0)
        return str(path), 1
    if isinstance(source, RawSource):
        return _raw_layer_source(stack, source, folder / f"{pair_id}_{kind}.tif"), 1
    if isinstance(source, ArraySource):
        path = folder / f"{pair_id}_{kind}.tif"
        if not path.exists():
            write_geotiff(path, source.array, stack.grid)
        return str(path), 1
    return None


def _raw_layer_source(stack: Stack, source: RawSource, copy_path: Path) -> str:
    """A raw-band VRT beside ``source`` (relative to it), or a GeoTIFF copy at ``copy_path``
    where the raster's folder is read-only. Values are the file's (no scale, same nodata)."""
    folder = source.path.parent
    if is_writable_folder(folder):
        path = folder / f".{source.path.name}.sbas_selector.vrt"
        data_type = "Float32" if source.dtype.endswith("f4") else "Byte"
        size = 4 if data_type == "Float32" else 1
        _write_vrt(path, stack, None, data_type, nodata=source.nodata,
                   raw=(source.path.name, size, size * stack.grid.width))
        return str(path)
    if not copy_path.exists():
        values = np.fromfile(source.path, dtype=np.dtype(source.dtype),
                             count=source.width * source.height)
        write_geotiff(copy_path, values.reshape(source.height, source.width), stack.grid,
                      nodata=source.nodata)
    return str(copy_path)


def _write_vrt(path: Path, stack: Stack, simple_source: str | None, data_type: str,
               nodata: float | None, raw: tuple[str, int, int] | None = None) -> None:
    """Write a one-band VRT on the stack's grid: a ``SimpleSource`` band, or with ``raw`` =
    (file name beside the VRT, pixel offset, line offset in bytes) a raw band."""
    grid = stack.grid
    geotransform = ", ".join(repr(v) for v in grid.geotransform)
    nodata_xml = "" if nodata is None else f"<NoDataValue>{nodata!r}</NoDataValue>"
    if raw is not None:
        filename, pixel_offset, line_offset = raw
        band = (f'<VRTRasterBand dataType="{data_type}" band="1" subClass="VRTRawRasterBand">'
                f'{nodata_xml}<SourceFilename relativeToVRT="1">{escape(filename)}'
                f'</SourceFilename><ImageOffset>0</ImageOffset>'
                f'<PixelOffset>{pixel_offset}</PixelOffset><LineOffset>{line_offset}'
                f'</LineOffset><ByteOrder>LSB</ByteOrder></VRTRasterBand>')
    else:
        band = (f'<VRTRasterBand dataType="{data_type}" band="1">{nodata_xml}{simple_source}'
                f'</VRTRasterBand>')
    srs = f"<SRS>{escape(grid.crs_wkt)}</SRS>" if grid.crs_wkt else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">'
                    f"{srs}<GeoTransform>{geotransform}</GeoTransform>{band}</VRTDataset>\n",
                    encoding="utf-8")
