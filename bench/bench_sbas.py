"""Benchmark of the SBAS inversion (``make bench-sbas``): this project vs MintPy vs the floor.

For each simulated HyP3 stack (40 dates / 256x256 px and 80 dates / 512x512 px):

- ours: ``sbas-selector invert HYP3 --ref R,C`` end to end (read the folder, invert, write);
- MintPy: ``prep_hyp3`` + ``load_data`` + ``reference_point`` (same pixel) +
  ``ifgram_inversion -w no`` + ``timeseries2velocity``, from PyPI in its own venv;
- floor: read every phase raster and one product of the pseudo-inverse with the phase stack.

Each runs in its own process; wall time (ours and the floor: the median of ``--repeat`` runs,
alternating; MintPy: one run) and peak resident memory (``wait4``) are reported, and
the velocities of ours and MintPy's are compared on pixels valid in every pair. Not a test: the
machine is shared, so compare ratios taken in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"40x256": (40, 256), "80x512": (80, 512)}

FLOOR = textwrap.dedent("""
    import sys, glob, numpy as np
    from osgeo import gdal
    from sbas_selector.core.inversion.solver import design_matrix
    from sbas_selector.core.dates import dates_in_name
    gdal.UseExceptions()
    files = sorted(glob.glob(sys.argv[1] + '/*/*_unw_phase.tif'))
    pairs = [tuple(dates_in_name(f.split('/')[-1])[:2]) for f in files]
    dates = sorted({d for p in pairs for d in p})
    first = gdal.Open(files[0])
    stack = np.empty((len(files), first.RasterYSize * first.RasterXSize), np.float32)
    for k, f in enumerate(files):
        stack[k] = gdal.Open(f).ReadAsArray().ravel()
    pinv = np.linalg.pinv(design_matrix(dates, pairs)).astype(np.float32)
    result = pinv @ stack
    print(result.shape)
""")


def timed(command: list[str], cwd: Path | None = None, env: dict | None = None,
          log: Path | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    with open(log or os.devnull, "a") as sink:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"failed ({status}): {' '.join(command)}; see {log}")
    return wall, usage.ru_maxrss / 1024.0


def simulate(data_dir: Path, n_dates: int, size: int) -> Path:
    target = data_dir / f"sim_{n_dates}x{size}"
    if (target / "hyp3").is_dir():
        return target / "hyp3"
    subprocess.run([str(ROOT / ".venv/bin/sbas-selector"), "simulate", "--out", str(target),
                    "--seed", "5", "--dates", str(n_dates), "--size", f"{size}x{size}",
                    "--format", "hyp3"], check=True)
    return target / "hyp3"


def reference_pixel(hyp3: Path) -> tuple[int, int]:
    from sbas_selector.core import open_stack

    return open_stack(hyp3).reference_pixel


def run_mintpy(mintpy_python: Path, hyp3: Path, work: Path, ref: tuple[int, int],
               log: Path) -> tuple[float, float]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    bin_dir = mintpy_python.parent
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (work / "template.txt").write_text(textwrap.dedent(f"""
        mintpy.load.processor = hyp3
        mintpy.load.unwFile = {hyp3}/*/*_unw_phase.tif
        mintpy.load.corFile = {hyp3}/*/*_corr.tif
        mintpy.load.demFile = {hyp3}/*/*_dem.tif
        mintpy.load.incAngleFile = {hyp3}/*/*_lv_theta.tif
        mintpy.load.azAngleFile = {hyp3}/*/*_lv_phi.tif
        mintpy.load.waterMaskFile = {hyp3}/*/*_water_mask.tif
    """))
    py = str(mintpy_python)
    defaults = subprocess.run(
        [py, "-c", "import mintpy, os; print(os.path.join(os.path.dirname(mintpy.__file__), "
                   "'defaults', 'smallbaselineApp.cfg'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    shutil.copy(defaults, work / "smallbaselineApp.cfg")
    steps = [
        [py, str(bin_dir / "prep_hyp3.py"), f"{hyp3}/*/*.tif"],
        [py, str(bin_dir / "load_data.py"), "-t", "smallbaselineApp.cfg", "template.txt"],
        [py, str(bin_dir / "reference_point.py"), "inputs/ifgramStack.h5", "-y", str(ref[0]),
         "-x", str(ref[1])],
        [py, str(bin_dir / "ifgram_inversion.py"), "inputs/ifgramStack.h5", "-w", "no",
         "--ram", "4"],
        [py, str(bin_dir / "timeseries2velocity.py"), "timeseries.h5", "-o", "velocity.h5"],
    ]
    wall, peak = 0.0, 0.0
    for step in steps:
        seconds, memory = timed(step, cwd=work, env=env, log=log)
        wall += seconds
        peak = max(peak, memory)
    return wall, peak


def compare(ours_dir: Path, mintpy_dir: Path) -> dict:
    import h5py
    from osgeo import gdal

    ours = gdal.Open(str(ours_dir / "velocity.tif")).ReadAsArray().astype(float)
    n_pairs = gdal.Open(str(ours_dir / "n_pairs.tif")).ReadAsArray()
    summary = json.loads((ours_dir / "inversion.json").read_text())
    with h5py.File(mintpy_dir / "velocity.h5", "r") as h5:
        theirs = h5["velocity"][:] * 1000.0  # m/yr -> mm/yr
    every_pair = (n_pairs == summary["n_pairs"]) & np.isfinite(theirs) & np.isfinite(ours)
    difference = np.abs(ours - theirs)[every_pair]
    return {"pixels_compared": int(every_pair.sum()),
            "share_within_0_05_mm_yr": float(np.mean(difference <= 0.05)),
            "max_abs_diff_mm_yr": float(difference.max()),
            "rms_diff_mm_yr": float(np.sqrt(np.mean(difference**2)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40x256,80x512")
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data")
    parser.add_argument("--mintpy-python", type=Path, default=ROOT / ".bench-venv/bin/python")
    parser.add_argument("--skip-mintpy", action="store_true")
    parser.add_argument("--memory-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of ours and of the floor (medians reported); MintPy runs once")
    args = parser.parse_args()
    args.mintpy_python = args.mintpy_python.absolute()
    results = []
    for key in args.sizes.split(","):
        n_dates, size = SIZES[key]
        hyp3 = simulate(args.data, n_dates, size)
        n_pairs = len(list(hyp3.glob("*/*_unw_phase.tif")))
        ref = reference_pixel(hyp3)
        log = args.data / f"bench_{key}.log"
        env = {**os.environ, "OMP_NUM_THREADS": "2"}
        ours_dir = args.data / f"ours_{key}"
        # Ours and the floor alternate, --repeat times each: medians, on a shared machine.
        ours_runs, floor_runs = [], []
        for _ in range(args.repeat):
            ours_runs.append(timed([str(ROOT / ".venv/bin/sbas-selector"), "invert", str(hyp3),
                                    "--out", str(ours_dir), "--ref", f"{ref[0]},{ref[1]}",
                                    "--memory-gb", str(args.memory_gb)], env=env, log=log))
            floor_runs.append(timed([sys.executable, "-c", FLOOR, str(hyp3)], env=env, log=log))
        ours = (float(np.median([r[0] for r in ours_runs])), max(r[1] for r in ours_runs))
        floor = (float(np.median([r[0] for r in floor_runs])), max(r[1] for r in floor_runs))
        row = {"stack": f"{n_dates} dates, {size}x{size} px, {n_pairs} pairs",
               "repeats": args.repeat,
               "ours_s": round(ours[0], 2), "ours_runs_s": [round(r[0], 2) for r in ours_runs],
               "ours_peak_mib": round(ours[1]),
               "floor_s": round(floor[0], 2),
               "floor_runs_s": [round(r[0], 2) for r in floor_runs],
               "floor_peak_mib": round(floor[1]),
               "ours_over_floor": round(ours[0] / floor[0], 2)}
        # Memory: a budget of half the stack's phase data (float32), against the peak of a
        # process that only opens the stack (interpreter, numpy, GDAL).
        stack_mib = n_pairs * size * size * 4 / 2**20
        budget_gb = stack_mib / 2 / 1024
        bounded = timed([str(ROOT / ".venv/bin/sbas-selector"), "invert", str(hyp3), "--out",
                         str(args.data / f"ours_budget_{key}"), "--ref", f"{ref[0]},{ref[1]}",
                         "--memory-gb", f"{budget_gb:.4f}"], env=env, log=log)
        baseline = timed([str(ROOT / ".venv/bin/sbas-selector"), "info", str(hyp3), "--json"],
                         env=env, log=log)
        row.update({"stack_phase_mib": round(stack_mib), "budget_mib": round(budget_gb * 1024),
                    "bounded_s": round(bounded[0], 2), "bounded_peak_mib": round(bounded[1]),
                    "baseline_peak_mib": round(baseline[1]),
                    "bounded_peak_above_baseline_mib": round(bounded[1] - baseline[1])})
        if not args.skip_mintpy:
            mintpy_dir = args.data / f"mintpy_{key}"
            mintpy = run_mintpy(args.mintpy_python, hyp3, mintpy_dir, ref, log)
            row.update({"mintpy_s": round(mintpy[0], 2), "mintpy_peak_mib": round(mintpy[1]),
                        "mintpy_over_ours": round(mintpy[0] / ours[0], 1),
                        **compare(ours_dir, mintpy_dir)})
        print(json.dumps(row), flush=True)
        results.append(row)
    (args.data / "bench_sbas.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
