"""Stack readers, one module per format, behind :func:`open_stack`."""

from __future__ import annotations

from pathlib import Path

from ..errors import StackError
from ..stack import Stack
from .geotiff import looks_like_geotiff_stack, read_geotiff_folder
from .hyp3 import hyp3_listing, read_hyp3
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
    return _detect(Path(path))[0]


def _detect(path: Path) -> tuple[str, tuple[list[str], list[str]] | None]:
    """:func:`detect_format`, and HyP3's listing of the folder where that is the format (a
    few thousand files, listed once for the reader too)."""
    if not path.exists():
        raise StackError(path, "does not exist")
    if path.is_file():
        if path.suffix.lower() in (".h5", ".he5", ".hdf5"):
            return "mintpy", None
        raise StackError(path, "is a file; open the folder holding the stack, or a MintPy "
                               "ifgramStack.h5")
    if find_ifgram_stack(path) is not None:
        return "mintpy", None
    listing = hyp3_listing(path)
    if listing is not None:
        return "hyp3", listing
    if looks_like_licsbas(path):
        return "licsbas", None
    if looks_like_geotiff_stack(path):
        return "geotiff", None
    raise StackError(path, "no interferogram stack found (expected HyP3 products, a MintPy "
                           "ifgramStack.h5, a LiCSBAS GEOCml folder, or GeoTIFFs named with "
                           "two dates)")


def open_stack(path: str | Path, format_name: str | None = None) -> Stack:
    """Open any supported stack, detecting its format unless ``format_name`` is given."""
    fmt, listing = (format_name, None) if format_name else _detect(Path(path))
    if fmt == "hyp3":
        return read_hyp3(path, listing)
    readers = {"mintpy": read_mintpy, "licsbas": read_licsbas, "geotiff": read_geotiff_folder}
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return readers[fmt](path)


__all__ = ["FORMATS", "detect_format", "open_stack"]
