"""Throughput of the inversion's blocks on Dask, against the single-process run (not a test).

For a simulated HyP3 stack (default 80 dates / 512x512 px, the 80-date stack of
``make bench-sbas``), each in its own process:

- ``here``: ``run_inversion`` on this machine with the per-task budget of the workers;
- ``dask N``: the same on a local cluster of N worker processes (one thread each, each with
  ``--worker-memory-gb``): wall time with and without the cluster's start, each worker's
  peak resident memory against its limit, and whether every output raster is bit-identical
  to ``here``'s.

Throughput is pixels x kept pairs per second of the whole run (read, solve, write), and per
worker. Results go to ``bench_data/bench_dask.json``. The machine is shared: compare figures
taken in one run.

    .venv/bin/python bench/bench_dask.py [--workers 1,2] [--worker-memory-gb 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bench_sbas import StackSpec, simulate  # the same stacks as make bench-sbas

ROOT = Path(__file__).resolve().parent.parent

RUN = textwrap.dedent("""
    import json, resource, sys, time
    from sbas_selector.core import open_stack
    from sbas_selector.core.inversion import InversionOptions, run_inversion
    from sbas_selector.core.inversion.distributed import dask_cluster

    def main():
        stack_path, out, workers, worker_gb, row, col = sys.argv[1:7]
        workers, worker_gb = int(workers), float(worker_gb)
        budget = 0.6 * worker_gb  # distributed.WORKER_SHARE, one thread per worker
        stack = open_stack(stack_path)
        options = InversionOptions(memory_gb=budget, reference_pixel=(int(row), int(col)))
        report = {"budget_gb": budget, "n_pairs": stack.n_pairs, "n_dates": stack.n_dates,
                  "pixels": stack.grid.width * stack.grid.height}
        start = time.perf_counter()
        if workers == 0:
            run_inversion(stack, out, options=options)
            report["run_s"] = time.perf_counter() - start
        else:
            with dask_cluster(workers, memory_gb=workers * worker_gb) as cluster:
                report["start_s"] = time.perf_counter() - start
                assert abs(cluster.task_budget_gb - budget) < 1e-9
                begun = time.perf_counter()
                run_inversion(stack, out, options=options, cluster=cluster)
                report["run_s"] = time.perf_counter() - begun
                peaks = cluster.client.run(
                    lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
                report["worker_peak_mib"] = sorted(peaks.values())
                report["worker_limit_mib"] = worker_gb * 1024
        report["total_s"] = time.perf_counter() - start
        report["client_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(report))

    if __name__ == "__main__":
        main()
""")


def identical(first: Path, second: Path) -> bool:
    """Whether every output raster of two runs holds the same values (NaN equal to NaN)."""
    import numpy as np
    from osgeo import gdal

    gdal.UseExceptions()
    names = sorted(p.name for p in first.glob("*.tif"))
    assert names == sorted(p.name for p in second.glob("*.tif")) and names
    return all(np.array_equal(gdal.Open(str(first / n)).ReadAsArray(),
                              gdal.Open(str(second / n)).ReadAsArray(), equal_nan=True)
               for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=80)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--worker-memory-gb", type=float, default=0.5)
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data")
    args = parser.parse_args()
    stack = simulate(args.data, StackSpec(args.dates, args.size)) / "hyp3"
    from sbas_selector.core import open_stack

    row, col = open_stack(stack).reference_pixel
    script = args.data / "bench_dask_run.py"
    script.write_text(RUN)
    results = {"stack": str(stack), "cpus": os.cpu_count(), "runs": {}}
    outputs = {}
    for workers in [0, *(int(n) for n in args.workers.split(","))]:
        name = "here" if workers == 0 else f"dask {workers}"
        outputs[name] = args.data / "bench_dask_out" / name.replace(" ", "_")
        done = subprocess.run([sys.executable, str(script), str(stack), str(outputs[name]),
                               str(workers), str(args.worker_memory_gb), str(row), str(col)],
                              check=True, capture_output=True, text=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        work = report["pixels"] * report["n_pairs"]
        report["pixel_pairs_per_s"] = work / report["run_s"]
        report["pixel_pairs_per_s_per_worker"] = work / report["run_s"] / max(workers, 1)
        if workers:
            report["identical_to_here"] = identical(outputs["here"], outputs[name])
        results["runs"][name] = report
        print(name, json.dumps(report), flush=True)
        time.sleep(1)
    (args.data / "bench_dask.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
