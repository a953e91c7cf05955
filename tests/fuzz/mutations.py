"""Seeded corruptions of stack folders: what a disk, a download, a hand edit or another tool
does to the files of HyP3, MintPy, LiCSBAS and GeoTIFF stacks, and to the labels beside them.

Each mutation takes ``(rng, stack_dir, fmt)``, changes files under ``stack_dir`` and returns a
short description, or None where it does not apply to this stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

Mutation = Callable[[np.random.Generator, Path, str], "str | None"]

_HUGE_VALUES = (np.nan, np.inf, -np.inf, 1e30, -1e30, 1e10, 3e38, -5e3, 1e-30)


def _files(stack_dir: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in stack_dir.rglob(pattern) if p.is_file())


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))] if items else None


def _rel(path: Path, stack_dir: Path) -> str:
    return str(path.relative_to(stack_dir.parent))


# ---- bytes -------------------------------------------------------------------------------
def truncate(rng, stack_dir, fmt):
    path = _pick(rng, _files(stack_dir))
    if path is None:
        return None
    data = path.read_bytes()
    keep = int(len(data) * rng.uniform(0, 0.98))
    path.write_bytes(data[:keep])
    return f"truncated {_rel(path, stack_dir)} to {keep} of {len(data)} bytes"


def flip_bytes(rng, stack_dir, fmt):
    path = _pick(rng, _files(stack_dir))
    if path is None or path.stat().st_size == 0:
        return None
    data = bytearray(path.read_bytes())
    n = int(rng.integers(1, 64))
    # Headers break readers more often than data: half of the flips in the first 512 bytes.
    for _ in range(n):
        limit = min(len(data), 512) if rng.random() < 0.5 else len(data)
        data[int(rng.integers(limit))] = int(rng.integers(256))
    path.write_bytes(bytes(data))
    return f"flipped {n} bytes of {_rel(path, stack_dir)}"


def delete_file(rng, stack_dir, fmt):
    path = _pick(rng, _files(stack_dir))
    if path is None:
        return None
    path.unlink()
    return f"deleted {_rel(path, stack_dir)}"


def empty_file(rng, stack_dir, fmt):
    path = _pick(rng, _files(stack_dir))
    if path is None:
        return None
    path.write_bytes(b"")
    return f"emptied {_rel(path, stack_dir)}"


def odd_name(rng, stack_dir, fmt):
    entries = sorted(p for p in stack_dir.rglob("*") if p != stack_dir)
    path = _pick(rng, entries)
    if path is None:
        return None
    name = path.name
    choice = int(rng.integers(5))
    if choice == 0:
        new = name.replace("2", "3", 1)  # another (maybe impossible) date
    elif choice == 1:
        new = " " + name + " é"
    elif choice == 2:
        new = name[:-1] if len(name) > 1 else name + "x"
    elif choice == 3:
        new = name.upper()
    else:
        new = name.replace("_", "-", 1) if "_" in name else "_" + name
    if not new or new == name or (path.parent / new).exists():
        return None
    path.rename(path.parent / new)
    return f"renamed {_rel(path, stack_dir)} to {new!r}"


def duplicate(rng, stack_dir, fmt):
    entries = sorted(p for p in stack_dir.iterdir())
    path = _pick(rng, entries)
    if path is None:
        return None
    target = path.with_name("copy_" + path.name)
    if path.is_dir():
        shutil.copytree(path, target)
    else:
        shutil.copy(path, target)
    return f"duplicated {_rel(path, stack_dir)}"


# ---- rasters -----------------------------------------------------------------------------
def _rewrite_tif(path: Path, change: Callable[[np.ndarray], np.ndarray], *, dtype=None,
                 epsg: int | None = None, pixel_scale: float = 1.0, shape=None) -> None:
    from osgeo import gdal

    gdal.UseExceptions()
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # the mutation's reads are not under test
    try:
        _write_changed(path, change, dtype, epsg, pixel_scale, shape)
    finally:
        gdal.PopErrorHandler()


def _write_changed(path, change, dtype, epsg, pixel_scale, shape) -> None:
    from osgeo import gdal, osr

    source = gdal.Open(str(path))
    values = source.GetRasterBand(1).ReadAsArray()
    geotransform = list(source.GetGeoTransform())
    projection = source.GetProjection()
    nodata = source.GetRasterBand(1).GetNoDataValue()
    metadata = source.GetMetadata()
    source = None
    values = change(values.astype(np.float64))
    if shape is not None:
        values = np.resize(values, shape)
    out_type = {None: gdal.GDT_Float32, "int16": gdal.GDT_Int16, "float64": gdal.GDT_Float64,
                "uint8": gdal.GDT_Byte}[dtype]
    with np.errstate(invalid="ignore", over="ignore"):
        array = values.astype(dtype or np.float32)
    target = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1,
                                                  out_type)
    geotransform[1] *= pixel_scale
    geotransform[5] *= pixel_scale
    target.SetGeoTransform(geotransform)
    if epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        target.SetProjection(srs.ExportToWkt())
    elif projection:
        target.SetProjection(projection)
    if nodata is not None:
        target.GetRasterBand(1).SetNoDataValue(nodata)
    target.SetMetadata(metadata)
    target.GetRasterBand(1).WriteArray(array)
    target = None


def _phase_rasters(stack_dir: Path) -> list[Path]:
    return [p for p in _files(stack_dir, "*.tif")
            if "unw" in p.name.lower() or "phase" in p.name.lower()]


def bad_values(rng, stack_dir, fmt):
    """NaN, infinities or absurd values over part or all of one pair's phase."""
    value = float(_pick(rng, list(_HUGE_VALUES)))
    everywhere = rng.random() < 0.3
    if fmt == "mintpy":
        return _h5_values(rng, stack_dir, value, everywhere)
    if fmt == "licsbas":
        path = _pick(rng, _files(stack_dir, "*.unw"))
        if path is None:
            return None
        data = np.fromfile(path, "<f4")
        data[_where(rng, data.shape, everywhere)] = value
        data.tofile(path)
        return f"{value:g} in {'all' if everywhere else 'part'} of {_rel(path, stack_dir)}"
    path = _pick(rng, _phase_rasters(stack_dir))
    if path is None:
        return None

    def change(values):
        values[_where(rng, values.shape, everywhere)] = value
        return values

    _rewrite_tif(path, change)
    return f"{value:g} in {'all' if everywhere else 'part'} of {_rel(path, stack_dir)}"


def _where(rng, shape, everywhere: bool) -> np.ndarray:
    if everywhere:
        return np.ones(shape, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    flat = mask.reshape(-1)
    flat[rng.integers(0, flat.size, size=max(1, flat.size // int(rng.integers(2, 200))))] = True
    return mask


def wrong_raster(rng, stack_dir, fmt):
    """A phase raster with another size, data type, CRS or pixel size."""
    if fmt == "licsbas":
        path = _pick(rng, _files(stack_dir, "*.unw"))
        if path is None:
            return None
        data = np.fromfile(path, "<f4")
        choice = int(rng.integers(3))
        if choice == 0:
            data[: data.size - 7].tofile(path)
            return f"{_rel(path, stack_dir)}: 7 pixels short"
        if choice == 1:
            data.astype(">f4").tofile(path)
            return f"{_rel(path, stack_dir)}: byte-swapped"
        data.astype("<f8").tofile(path)
        return f"{_rel(path, stack_dir)}: float64"
    if fmt == "mintpy":
        return _h5_values(rng, stack_dir, None, True, byteswap=True)
    path = _pick(rng, _phase_rasters(stack_dir))
    if path is None:
        return None
    choice = int(rng.integers(4))
    if choice == 0:
        rows = int(rng.integers(1, 80))
        cols = int(rng.integers(1, 80))
        _rewrite_tif(path, lambda v: v, shape=(rows, cols))
        return f"{_rel(path, stack_dir)}: resized to {rows}x{cols}"
    if choice == 1:
        dtype = _pick(rng, ["int16", "uint8", "float64"])
        _rewrite_tif(path, lambda v: np.nan_to_num(v), dtype=dtype)
        return f"{_rel(path, stack_dir)}: stored as {dtype}"
    if choice == 2:
        epsg = _pick(rng, [4326, 32611, 3857])
        _rewrite_tif(path, lambda v: v, epsg=epsg)
        return f"{_rel(path, stack_dir)}: CRS EPSG:{epsg}"
    _rewrite_tif(path, lambda v: v, pixel_scale=float(rng.choice([0.5, 2.0, 1.0001])))
    return f"{_rel(path, stack_dir)}: other pixel size"


# ---- MintPy ------------------------------------------------------------------------------
def _h5(stack_dir: Path) -> Path | None:
    found = _files(stack_dir, "*.h5")
    return found[0] if found else None


def _h5_values(rng, stack_dir, value, everywhere, byteswap=False):
    import h5py

    path = _h5(stack_dir)
    if path is None:
        return None
    try:
        with h5py.File(path, "r+") as h5:
            data = h5["unwrapPhase"]
            if data.ndim != 3 or data.shape[1] * data.shape[2] > 10**7:
                return None  # an earlier mutation made it huge or flat
            i = int(rng.integers(data.shape[0]))
            layer = data[i]
            if byteswap:
                layer = layer.byteswap()
            else:
                layer[_where(rng, layer.shape, everywhere)] = value
            data[i] = layer
    except (OSError, KeyError, RuntimeError, ValueError, TypeError):
        return None  # an earlier mutation broke the file already
    what = "byte-swapped" if byteswap else f"{value:g} in"
    return f"{_rel(path, stack_dir)}: unwrapPhase[{i}] {what}"


def h5_structure(rng, stack_dir, fmt):
    """Datasets removed, replaced by broken links, reshaped, of another type."""
    import h5py

    path = _h5(stack_dir)
    if path is None:
        return None
    choice = int(rng.integers(7))
    name = _pick(rng, ["unwrapPhase", "date", "bperp", "dropIfgram", "coherence"])
    try:
        with h5py.File(path, "r+") as h5:
            if choice == 0:
                del h5[name]
                return f"{path.name}: dataset {name} deleted"
            if choice == 1:
                del h5[name]
                h5[name] = h5py.SoftLink("/nowhere/at/all")
                return f"{path.name}: dataset {name} is a broken link"
            if choice == 2:
                n = h5["unwrapPhase"].shape[0]
                del h5["date"]
                h5["date"] = np.arange(n, dtype=np.int64) + 20180101
                return f"{path.name}: date as 1-D integers"
            if choice == 3:
                n = h5["unwrapPhase"].shape[0]
                del h5["bperp"]
                values = np.zeros(n)
                values[int(rng.integers(n))] = float(_pick(rng, [np.nan, 1e308, -np.inf, 5e4]))
                h5["bperp"] = values
                return f"{path.name}: an implausible bperp"
            if choice == 4:
                n = h5["unwrapPhase"].shape[0]
                del h5["unwrapPhase"]
                rows, cols = _pick(rng, [(100000, 100000), (1, 3), (2**20, 2**12)])
                h5.create_dataset("unwrapPhase", (n, rows, cols), dtype=np.float32,
                                  chunks=(1, 1, min(cols, 1024)))
                return f"{path.name}: unwrapPhase of {rows}x{cols}"
            if choice == 5:
                data = h5["unwrapPhase"][()]
                del h5["unwrapPhase"]
                h5["unwrapPhase"] = data.astype(_pick(rng, [np.int16, "S4", np.complex64]))
                return f"{path.name}: unwrapPhase of another type"
            data = h5[name][()]
            del h5[name]
            h5[name] = np.resize(data, (max(1, data.shape[0] - 2), *data.shape[1:]))
            return f"{path.name}: {name} two entries short"
    except (OSError, KeyError, RuntimeError, ValueError, TypeError):
        return None


def h5_attributes(rng, stack_dir, fmt):
    import h5py

    path = _h5(stack_dir)
    if path is None:
        return None
    key = _pick(rng, ["WAVELENGTH", "X_FIRST", "X_STEP", "Y_FIRST", "Y_STEP", "EPSG",
                      "UTM_ZONE", "REF_Y", "REF_X", "PROCESSOR", "X_UNIT"])
    value = _pick(rng, [None, "garbage", b"yes", b"\xff\xfe\x00", "nan", "inf", "1e308", "0",
                        "-5", "3000", "99Q", np.array([1.0, 2.0])])
    try:
        with h5py.File(path, "r+") as h5:
            if value is None:
                if key in h5.attrs:
                    del h5.attrs[key]
            else:
                h5.attrs[key] = value
    except (OSError, KeyError, RuntimeError, ValueError, TypeError):
        return None
    return f"{path.name}: attribute {key} = {value!r}"


# ---- text metadata -----------------------------------------------------------------------
_BAD_NUMBERS = ("nan", "1e308", "-inf", "garbage", "", "5e4", "1,5", "0x10")


def text_metadata(rng, stack_dir, fmt):
    """A number in a metadata text file made malformed or implausible."""
    if fmt == "hyp3":
        path = _pick(rng, _files(stack_dir, "*.txt"))
        if path is None:
            return None
        value = _pick(rng, list(_BAD_NUMBERS))
        lines = [f"Baseline: {value}" if line.startswith("Baseline") else line
                 for line in path.read_text(errors="replace").splitlines()]
        path.write_text("\n".join(lines) + "\n")
        return f"{_rel(path, stack_dir)}: Baseline: {value!r}"
    if fmt == "licsbas":
        name = _pick(rng, ["EQA.dem_par", "slc.mli.par", "baselines"])
        path = stack_dir / name
        if not path.is_file():
            return None
        value = _pick(rng, [*_BAD_NUMBERS, "-5", "1000000000", "1e5", "0"])
        text = path.read_text(errors="replace").splitlines()
        keys = {"EQA.dem_par": ("width", "nlines", "post_lat", "corner_lon"),
                "slc.mli.par": ("radar_frequency",), "baselines": ()}[name]
        if keys:
            key = _pick(rng, list(keys))
            text = [f"{key}: {value}" if line.startswith(key + ":") else line for line in text]
        else:
            k = int(rng.integers(len(text))) if text else 0
            if text:
                fields = text[k].split()
                fields[min(2, len(fields) - 1)] = value or "?"
                text[k] = " ".join(fields)
        path.write_text("\n".join(text) + "\n")
        return f"{name}: a value set to {value!r}"
    csvs = _files(stack_dir, "*.csv") + _files(stack_dir, "*bperp*.par")
    path = _pick(rng, csvs)
    if path is None:
        return None
    value = _pick(rng, list(_BAD_NUMBERS))
    lines = path.read_text(errors="replace").splitlines()
    if path.suffix == ".csv" and len(lines) > 1:
        k = int(rng.integers(1, len(lines)))
        fields = lines[k].split(",")
        fields[-1] = value
        lines[k] = ",".join(fields)
    elif lines:
        k = int(rng.integers(len(lines)))
        fields = lines[k].split()
        if len(fields) > 7:
            fields[7] = value or "?"
        lines[k] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return f"{_rel(path, stack_dir)}: a value set to {value!r}"


def stray_labels_csv(rng, stack_dir, fmt):
    """A labels CSV exported into the stack folder (``classify --out STACK/labels.csv``)."""
    if fmt not in ("geotiff", "real"):
        return None
    (stack_dir / "labels.csv").write_text(
        "date1,date2,pair_id,days,bperp_m,probability_high,predicted,override,label,source,"
        "evidence\n20180106,20180130,20180106_20180130,24,999.000,0.5,high,,high,model,\n")
    return "a labels export with a bperp_m column inside the stack folder"


# ---- labels sidecar ----------------------------------------------------------------------
_BAD_LABELS = (
    b'{"format": "sbas_selector labels", "version": 1, "model": [1, 2], "pairs": []}',
    b'{"model": 5, "pairs": []}',
    b'{"model": "abc", "pairs": []}',
    b'{"pairs": [{"pair_id": 20180106}]}',
    b'{"pairs": [{"pair_id": "20180106_20180130", "probability_high": NaN}]}',
    b'{"pairs": [{"pair_id": "20180106_20180130", "probability_high": 7}]}',
    b'{"pairs": [{"pair_id": "20180106_20180130", "override": "maybe"}]}',
    b'{"pairs": [{"pair_id": "x"}, {"pair_id": "x"}]}',
    b'{"pairs": {"a": 1}}',
    b"[" * 100000,
    b'{"pairs": [',
    b"\xff\xfe\x00garbage",
    b"",
    b"null",
)


def bad_labels(rng, stack_dir, fmt):
    from sbas_selector.core.formats import find_ifgram_stack
    from sbas_selector.core.labels import sidecar_path

    target = find_ifgram_stack(stack_dir) if fmt == "mintpy" else stack_dir
    if target is None:
        return None
    content = _BAD_LABELS[int(rng.integers(len(_BAD_LABELS)))]
    path = sidecar_path(target)
    path.write_bytes(content)
    if rng.random() < 0.3:  # and the temporary file of a killed write beside it
        (path.parent / f".{path.name}.999999.abcd1234.tmp").write_text("{")
    return f"labels file: {content[:40]!r}"


MUTATIONS: tuple[Mutation, ...] = (
    truncate, flip_bytes, delete_file, empty_file, odd_name, duplicate, bad_values,
    wrong_raster, h5_structure, h5_attributes, text_metadata, stray_labels_csv, bad_labels,
)


#: A MintPy stack is one file: whole-file mutations (delete, empty, truncate) would make most
#: of its cases the same "unreadable file"; its own mutations are drawn more often.
_MINTPY_WEIGHTS = {bad_values: 3, wrong_raster: 2, h5_structure: 4, h5_attributes: 4}


def mutate(rng: np.random.Generator, stack_dir: Path, fmt: str, count: int) -> list[str]:
    """Apply ``count`` applicable mutations, chosen by ``rng``; their descriptions."""
    done: list[str] = []
    attempts = 0
    weights = np.array([(_MINTPY_WEIGHTS.get(m, 0.5) if fmt == "mintpy" else 1.0)
                        for m in MUTATIONS])
    while len(done) < count and attempts < 50:
        attempts += 1
        mutation = MUTATIONS[int(rng.choice(len(MUTATIONS), p=weights / weights.sum()))]
        try:
            description = mutation(rng, stack_dir, fmt)
        except (RuntimeError, OSError, ValueError, KeyError, TypeError, IndexError,
                MemoryError, OverflowError):
            description = None  # an earlier mutation left nothing this one can work on
        if description:
            done.append(f"{mutation.__name__}: {description}")
    return done
