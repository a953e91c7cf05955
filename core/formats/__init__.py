"""Stack readers, one module per format, behind :func:`open_stack`."""

from __future__ import annotations

from pathlib import Path

from ..errors import StackError
from ..stack import Stack
from .geotiff import looks_like_geotiff_stack, read_geotiff_folder
from .hyp3 import hyp3_listing, looks_like_hyp3, read_hyp3
from .licsbas import looks_like_licsbas, read_licsbas
from .mintpy import find_ifgram_stack, read_mintpy

FORMATS = ("hyp3", "mintpy", "licsbas", "geotiff")


def detect_format(path: str | Path) -> str:
    """Name the format of a stack path: "hyp3", "mintpy", "licsbas" or "geotiff".

    Raises
    ------
    StackError
        When the path does not exist or holds no recognisable stack.
    """
    path = Path(path)
    if not path.exists():
        raise StackError(path, "does not exist")
    if path.is_file():
        if path.suffix.lower() in (".h5", ".he5", ".hdf5"):
            return "mintpy"
        raise StackError(path, "is a file; open the folder holding the stack, or a MintPy "
                               "ifgramStack.h5")
    if find_ifgram_stack(path) is not None:
        return "mintpy"
    if looks_like_hyp3(path):
        return "hyp3"
    if looks_like_licsbas(path):
        return "licsbas"
    if looks_like_geotiff_stack(path):
        return "geotiff"
    raise StackError(path, "no interferogram stack found (expected HyP3 products, a MintPy "
                           "ifgramStack.h5, a LiCSBAS GEOCml folder, or GeoTIFFs named with "
                           "two dates)")


def open_stack(path: str | Path, format_name: str | None = None) -> Stack:
    """Open any supported stack, detecting its format unless ``format_name`` is given."""
    if format_name is None and Path(path).is_dir() and find_ifgram_stack(Path(path)) is None:
        # HyP3, as detect_format would find it: its listing (a few thousand files) once.
        listing = hyp3_listing(Path(path))
        if listing is not None:
            return read_hyp3(path, listing)
    fmt = format_name or detect_format(path)
    readers = {"hyp3": read_hyp3, "mintpy": read_mintpy, "licsbas": read_licsbas,
               "geotiff": read_geotiff_folder}
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return readers[fmt](path)


__all__ = ["FORMATS", "detect_format", "open_stack"]
