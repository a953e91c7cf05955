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
from ..plausible import check_bperp, check_grid_size, check_wavelength
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
        value = value.decode("utf-8", errors="replace")
    elif isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
    return None if value is None else str(value).strip()


def _number(attrs: dict, key: str) -> float:
    """A numeric attribute; ValueError naming it when absent, not a number or not finite."""
    text = _attr(attrs, key)
    if text is None:
        raise ValueError(f"attribute {key} is missing")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"attribute {key} = {text!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"attribute {key} = {text!r} is not finite")
    return value


def _grid_from_attributes(attrs: dict, height: int, width: int) -> Grid:
    """The grid of the file's geocoding attributes (radar coordinates without X_FIRST).

    Raises
    ------
    ValueError
        When some geocoding attribute is missing or malformed (named).
    """
    if _attr(attrs, "X_FIRST") is None:  # radar coordinates
        return Grid(width, height, (0.0, 1.0, 0.0, 0.0, 0.0, 1.0), "")
    geotransform = (_number(attrs, "X_FIRST"), _number(attrs, "X_STEP"), 0.0,
                    _number(attrs, "Y_FIRST"), 0.0, _number(attrs, "Y_STEP"))
    if geotransform[1] == 0 or geotransform[5] == 0:
        raise ValueError("attributes X_STEP and Y_STEP must not be 0")
    epsg = _attr(attrs, "EPSG")
    utm_zone = _attr(attrs, "UTM_ZONE")
    try:
        if epsg:
            crs = crs_wkt_from_epsg(int(_number(attrs, "EPSG")))
        elif utm_zone:
            zone = int(utm_zone[:-1]) if utm_zone[-1].isalpha() else int(utm_zone)
            letter = utm_zone[-1].upper() if utm_zone[-1].isalpha() else "N"
            south = letter == "S" or letter in "CDEFGHJKLM"  # hemisphere or latitude band
            if not 1 <= zone <= 60:
                raise ValueError
            crs = crs_wkt_from_epsg((32700 if south else 32600) + zone)
        elif (_attr(attrs, "X_UNIT", "degrees") or "degrees").lower().startswith("deg"):
            crs = crs_wkt_from_epsg(4326)
        else:
            crs = ""
    except (ValueError, RuntimeError, IndexError, OverflowError, TypeError):
        raise ValueError(f"attributes EPSG = {epsg!r} / UTM_ZONE = {utm_zone!r} name no "
                         "coordinate system") from None
    return Grid(width, height, geotransform, crs)


def _date_pairs(dataset) -> list[tuple[str, str]]:
    """The ``date`` dataset, shape (n_pairs, 2) of ``YYYYMMDD`` strings, as text pairs."""
    values = np.asarray(dataset[()])
    if values.ndim != 2 or values.shape[1] != 2:
        raise ValueError(f"dataset date has shape {values.shape}; expected (n_pairs, 2)")

    def text(value) -> str:
        return (value.decode("utf-8", errors="replace") if isinstance(value, bytes)
                else str(value))

    return [(text(a), text(b)) for a, b in values]


def _read_file(h5_path: Path) -> tuple[dict, tuple[int, ...], list[tuple[str, str]],
                                       np.ndarray, np.ndarray, bool, str]:
    """Attributes, unwrapPhase shape, dates, bperp, keep and coherence presence, checked.

    Raises
    ------
    StackError
        Naming the file and what is wrong with it.
    """
    import h5py

    try:
        with h5py.File(h5_path, "r") as h5:
            missing = [name for name in _REQUIRED if name not in h5]
            if missing:
                raise StackError(h5_path, f"not a MintPy ifgramStack: missing dataset(s) "
                                          f"{', '.join(missing)}")
            attrs = dict(h5.attrs)
            phase = h5["unwrapPhase"]
            shape = phase.shape
            if len(shape) != 3:
                raise StackError(h5_path, f"unwrapPhase has shape {shape}; expected "
                                          "(n_pairs, rows, cols)")
            if phase.dtype.kind != "f":
                raise StackError(h5_path, f"unwrapPhase is stored as {phase.dtype}; expected "
                                          "floating-point radians")
            try:
                check_grid_size(shape[2], shape[1])
            except ValueError as exc:
                raise StackError(h5_path, f"unwrapPhase: {exc}") from None
            date_pairs = _date_pairs(h5["date"])
            bperp = np.asarray(h5["bperp"][()], dtype=float).reshape(-1)
            keep = (np.asarray(h5["dropIfgram"][()], dtype=bool).reshape(-1)
                    if "dropIfgram" in h5 else np.ones(shape[0], dtype=bool))
            has_coherence = "coherence" in h5 and h5["coherence"].shape == shape
            processor = _attr(attrs, "PROCESSOR", "unknown") or "unknown"
    except StackError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        # h5py reports broken links and objects as RuntimeError or KeyError, bad bytes as
        # OSError, odd dtypes as TypeError or ValueError.
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StackError(h5_path, f"not a readable HDF5 file, or a broken one ({message})") from exc
    return attrs, shape, date_pairs, bperp, keep, has_coherence, processor


def read_mintpy(path: str | Path) -> Stack:
    """Open a MintPy ``ifgramStack.h5`` (or a MintPy folder holding ``inputs/ifgramStack.h5``).

    Raises
    ------
    StackError
        When the file is not HDF5, lacks a required dataset, or holds malformed or
        implausible values (the file and the value named).
    """
    path = Path(path)
    h5_path = find_ifgram_stack(path)
    if h5_path is None:
        raise StackError(path, "no ifgramStack.h5 here (looked for inputs/ifgramStack.h5)")
    attrs, shape, date_pairs, bperp, keep, has_coherence, processor = _read_file(h5_path)
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
        try:
            pair_bperp = check_bperp(bperp[i])
        except ValueError as exc:
            skipped.append(SkippedFile(h5_path, f"interferogram {i} ({a}_{b}): {exc}"))
            continue
        seen.add((d1, d2))
        pairs.append(Pair(d1, d2, pair_bperp))
        phase_sources.append(Hdf5Source(h5_path, "unwrapPhase", i))
        coherence_sources.append(Hdf5Source(h5_path, "coherence", i))
        keep_list.append(bool(keep[i]))
    if not pairs:
        raise StackError(h5_path, "no usable interferogram in the file"
                         + (f" ({skipped[0].reason})" if skipped else ""))
    warnings = []
    try:
        grid = _grid_from_attributes(attrs, shape[1], shape[2])
        if _attr(attrs, "WAVELENGTH") is None:
            from ..stack import SENTINEL1_WAVELENGTH_M

            wavelength = SENTINEL1_WAVELENGTH_M
            warnings.append("no WAVELENGTH attribute; assuming Sentinel-1 C-band")
        else:
            wavelength = check_wavelength(_number(attrs, "WAVELENGTH"))
    except ValueError as exc:
        raise StackError(h5_path, str(exc)) from None
    reference = None
    if _attr(attrs, "REF_Y") is not None and _attr(attrs, "REF_X") is not None:
        try:
            reference = (int(_number(attrs, "REF_Y")), int(_number(attrs, "REF_X")))
            if not (0 <= reference[0] < shape[1] and 0 <= reference[1] < shape[2]):
                raise ValueError(f"REF_Y, REF_X = {reference} is outside the grid")
        except ValueError as exc:
            warnings.append(f"{exc}; reference pixel chosen automatically")
            reference = None
    return Stack(
        path=h5_path,
        format_name="mintpy",
        pairs=pairs,
        phase_sources=phase_sources,
        coherence_sources=coherence_sources if has_coherence else None,
        grid=grid,
        wavelength_m=wavelength,
        reference_pixel=reference,
        keep=keep_list,
        skipped=skipped,
        warnings=warnings,
        metadata={"processor": processor, "baseline_source": "ifgramStack.h5 bperp"},
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
