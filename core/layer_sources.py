"""GDAL-readable sources for showing a stack's rasters as map layers.

GeoTIFFs are shown as they are; MintPy HDF5 layers and LiCSBAS raw rasters get a small VRT
(with the stack's geotransform and CRS) in the user's data folder; in-memory rasters a GeoTIFF.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape  # nosec B406: escapes text we write, parses nothing

from .paths import user_data_folder
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
        path = folder / f"{pair_id}_{kind}.vrt"
        data_type = "Float32" if source.dtype.endswith("f4") else "Byte"
        size = 4 if data_type == "Float32" else 1
        _write_vrt(path, stack, None, data_type, nodata=source.nodata, raw=(
            source.path, size, size * stack.grid.width))
        return str(path), 1
    if isinstance(source, ArraySource):
        path = folder / f"{pair_id}_{kind}.tif"
        if not path.exists():
            write_geotiff(path, source.array, stack.grid)
        return str(path), 1
    return None


def _write_vrt(path: Path, stack: Stack, simple_source: str | None, data_type: str,
               nodata: float | None, raw: tuple[Path, int, int] | None = None) -> None:
    grid = stack.grid
    geotransform = ", ".join(repr(v) for v in grid.geotransform)
    nodata_xml = "" if nodata is None else f"<NoDataValue>{nodata!r}</NoDataValue>"
    if raw is not None:
        filename, pixel_offset, line_offset = raw
        band = (f'<VRTRasterBand dataType="{data_type}" band="1" subClass="VRTRawRasterBand">'
                f'{nodata_xml}<SourceFilename relativetoVRT="0">{escape(str(filename))}'
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
