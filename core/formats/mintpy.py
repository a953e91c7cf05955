"""MintPy ``ifgramStack.h5``: datasets ``unwrapPhase``, ``coherence``, ``date``, ``bperp``,
``dropIfgram``; geocoding and wavelength in the file's attributes.

``dropIfgram`` is True for the interferograms MintPy keeps (the name notwithstanding), and is
read as the initial keep/drop state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dates import format_yyyymmdd, parse_yyyymmdd
from ..errors import StackError
from ..raster_io import crs_wkt_from_epsg
from ..sources import Hdf5Source
from ..stack import Stack
from ..stack_types import Grid, Pair, SkippedFile

_REQUIRED = ("unwrapPhase", "date", "bperp")


def find_ifgram_stack(path: Path) -> Path | None:
    """The ``ifgramStack.h5`` that a path designates (the file, or inside a MintPy folder)."""
    if path.is_file() and path.suffix.lower() in (".h5", ".he5", ".hdf5"):
        return path
    for candidate in (path / "inputs" / "ifgramStack.h5", path / "ifgramStack.h5"):
        if candidate.is_file():
            return candidate
    return None


def _attr(attrs: dict, key: str, default: str | None = None) -> str | None:
    value = attrs.get(key, default)
    if isinstance(value, bytes):
        value = value.decode()
    return None if value is None else str(value)


def _grid_from_attributes(attrs: dict, height: int, width: int) -> Grid:
    x_first = _attr(attrs, "X_FIRST")
    if x_first is None:  # radar coordinates
        return Grid(width, height, (0.0, 1.0, 0.0, 0.0, 0.0, 1.0), "")
    geotransform = (float(x_first), float(_attr(attrs, "X_STEP")), 0.0,
                    float(_attr(attrs, "Y_FIRST")), 0.0, float(_attr(attrs, "Y_STEP")))
    epsg = _attr(attrs, "EPSG")
    utm_zone = _attr(attrs, "UTM_ZONE")
    if epsg:
        crs = crs_wkt_from_epsg(int(float(epsg)))
    elif utm_zone:
        zone = int(utm_zone[:-1]) if utm_zone[-1].isalpha() else int(utm_zone)
        letter = utm_zone[-1].upper() if utm_zone[-1].isalpha() else "N"
        south = letter == "S" or letter in "CDEFGHJKLM"  # hemisphere or latitude band
        crs = crs_wkt_from_epsg((32700 if south else 32600) + zone)
    elif (_attr(attrs, "X_UNIT", "degrees") or "degrees").lower().startswith("deg"):
        crs = crs_wkt_from_epsg(4326)
    else:
        crs = ""
    return Grid(width, height, geotransform, crs)


def read_mintpy(path: str | Path) -> Stack:
    """Open a MintPy ``ifgramStack.h5`` (or a MintPy folder holding ``inputs/ifgramStack.h5``).

    Raises
    ------
    StackError
        When the file is not HDF5 or lacks a required dataset.
    """
    import h5py

    path = Path(path)
    h5_path = find_ifgram_stack(path)
    if h5_path is None:
        raise StackError(path, "no ifgramStack.h5 here (looked for inputs/ifgramStack.h5)")
    try:
        with h5py.File(h5_path, "r") as h5:
            missing = [name for name in _REQUIRED if name not in h5]
            if missing:
                raise StackError(h5_path, f"not a MintPy ifgramStack: missing dataset(s) "
                                          f"{', '.join(missing)}")
            attrs = dict(h5.attrs)
            shape = h5["unwrapPhase"].shape
            if len(shape) != 3:
                raise StackError(h5_path, f"unwrapPhase has shape {shape}; expected "
                                          "(n_pairs, rows, cols)")
            date_pairs = [(a.decode() if isinstance(a, bytes) else str(a),
                           b.decode() if isinstance(b, bytes) else str(b))
                          for a, b in np.asarray(h5["date"][:])]
            bperp = np.asarray(h5["bperp"][:], dtype=float)
            keep = (np.asarray(h5["dropIfgram"][:], dtype=bool) if "dropIfgram" in h5
                    else np.ones(shape[0], dtype=bool))
            has_coherence = "coherence" in h5 and h5["coherence"].shape == shape
    except OSError as exc:
        raise StackError(h5_path, f"not a readable HDF5 file ({exc})") from exc
    if not (len(date_pairs) == len(bperp) == shape[0] == len(keep)):
        raise StackError(h5_path, f"date ({len(date_pairs)}), bperp ({len(bperp)}), "
                                  f"dropIfgram ({len(keep)}) and unwrapPhase ({shape[0]}) "
                                  "disagree on the number of interferograms")
    skipped: list[SkippedFile] = []
    pairs, phase_sources, coherence_sources, keep_list = [], [], [], []
    seen = set()
    for i, (a, b) in enumerate(date_pairs):
        try:
            d1, d2 = parse_yyyymmdd(a), parse_yyyymmdd(b)
        except ValueError:
            skipped.append(SkippedFile(h5_path, f"interferogram {i}: bad dates {a!r}, {b!r}"))
            continue
        if d1 >= d2 or (d1, d2) in seen:
            reason = "date1 is not before date2" if d1 >= d2 else "duplicate pair"
            skipped.append(SkippedFile(h5_path, f"interferogram {i} ({a}_{b}): {reason}"))
            continue
        seen.add((d1, d2))
        pairs.append(Pair(d1, d2, float(bperp[i])))
        phase_sources.append(Hdf5Source(h5_path, "unwrapPhase", i))
        coherence_sources.append(Hdf5Source(h5_path, "coherence", i))
        keep_list.append(bool(keep[i]))
    if not pairs:
        raise StackError(h5_path, "no usable interferogram in the file")
    wavelength = _attr(attrs, "WAVELENGTH")
    warnings = []
    if wavelength is None:
        from ..stack import SENTINEL1_WAVELENGTH_M

        wavelength = str(SENTINEL1_WAVELENGTH_M)
        warnings.append("no WAVELENGTH attribute; assuming Sentinel-1 C-band")
    ref_y, ref_x = _attr(attrs, "REF_Y"), _attr(attrs, "REF_X")
    reference = (int(float(ref_y)), int(float(ref_x))) if ref_y and ref_x else None
    return Stack(
        path=h5_path,
        format_name="mintpy",
        pairs=pairs,
        phase_sources=phase_sources,
        coherence_sources=coherence_sources if has_coherence else None,
        grid=_grid_from_attributes(attrs, shape[1], shape[2]),
        wavelength_m=float(wavelength),
        reference_pixel=reference,
        keep=keep_list,
        skipped=skipped,
        warnings=warnings,
        metadata={"processor": _attr(attrs, "PROCESSOR", "unknown"),
                  "baseline_source": "ifgramStack.h5 bperp"},
    )


def write_mintpy(stack: Stack, path: str | Path, *, referenced: bool = False) -> Path:
    """Write a stack as a MintPy ``ifgramStack.h5`` (nodata as 0, as ``load_data`` leaves it).

    ``path`` may be the file or a folder (then ``<folder>/inputs/ifgramStack.h5``).
    """
    import h5py

    path = Path(path)
    if path.suffix.lower() != ".h5":
        path = path / "inputs" / "ifgramStack.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = stack.grid
    n, rows, cols = stack.n_pairs, grid.height, grid.width
    temporary = path.with_name(f".{path.name}.part")
    with h5py.File(temporary, "w") as h5:
        phase_ds = h5.create_dataset("unwrapPhase", (n, rows, cols), dtype=np.float32,
                                     chunks=(1, min(rows, 256), min(cols, 256)))
        coherence_ds = (h5.create_dataset("coherence", (n, rows, cols), dtype=np.float32,
                                          chunks=(1, min(rows, 256), min(cols, 256)))
                        if stack.has_coherence else None)
        for i in range(n):
            phase_ds[i] = np.nan_to_num(stack.read_phase(i, referenced=referenced), nan=0.0)
            if coherence_ds is not None:
                coherence_ds[i] = np.nan_to_num(stack.read_coherence(i), nan=0.0)
        h5.create_dataset("date", data=np.array(
            [[format_yyyymmdd(p.date1), format_yyyymmdd(p.date2)] for p in stack.pairs],
            dtype="S8"))
        h5.create_dataset("bperp", data=stack.bperp_m.astype(np.float32))
        h5.create_dataset("dropIfgram", data=stack.keep.astype(bool))
        x0, dx, _, y0, _, dy = grid.geotransform
        attrs = {
            "FILE_TYPE": "ifgramStack",
            "LENGTH": str(rows),
            "WIDTH": str(cols),
            "WAVELENGTH": repr(stack.wavelength_m),
            "PLATFORM": "Sen",
            "PROCESSOR": stack.metadata.get("processor", "sbas_selector"),
            "UNIT": "radian",
        }
        if grid.crs_wkt:
            attrs.update({"X_FIRST": repr(x0), "Y_FIRST": repr(y0), "X_STEP": repr(dx),
                          "Y_STEP": repr(dy)})
            unit = "degrees" if grid.is_geographic else "meters"
            attrs.update({"X_UNIT": unit, "Y_UNIT": unit})
            epsg = grid.epsg
            if epsg:
                attrs["EPSG"] = str(epsg)
                if 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760:
                    attrs["UTM_ZONE"] = f"{epsg % 100}{'N' if epsg < 32700 else 'S'}"
        h5.attrs.update(attrs)
    temporary.replace(path)
    return path
