"""The inversion's blocks on a local Dask cluster (two worker processes): the outputs are
identical, bit for bit, to the single-process run's; errors, cancel and a missing Dask."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from sbas_selector.cli import main
from sbas_selector.core import StackError
from sbas_selector.core.errors import ClusterError
from sbas_selector.core.formats import open_stack
from sbas_selector.core.inversion import (
    InversionCancelledError,
    InversionOptions,
    run_inversion,
)
from sbas_selector.core.inversion.distributed import dask_cluster, parse_target
from sbas_selector.core.repairs import Patch, RepairedSource, repaired_stack
from sbas_selector.core.simulation import SimulationConfig, simulate, write_simulation

#: Several blocks and several chunks per block on a 40 x 48 px stack.
TINY_BUDGET_GB = 0.0003


@pytest.fixture(scope="module")
def stack_folder(tmp_path_factory):
    """A HyP3 stack on disk (GeoTIFF sources, as a worker reads them)."""
    sim = simulate(SimulationConfig(seed=21, n_dates=14, rows=40, cols=48))
    out = tmp_path_factory.mktemp("dask-stack")
    return write_simulation(sim, out, ("hyp3",))["hyp3"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each (processes, as on a real cluster: everything a
    task needs crosses a pickle)."""
    with dask_cluster(2, memory_gb=2.0) as engine:
        yield engine


def _repaired(stack):
    """Two repairs: a patch corrected by one cycle in one pair, one masked in another."""
    box = np.zeros((5, 6), bool)
    box[1:4, 1:5] = True
    repairs = {
        stack.pair_ids[3]: [Patch(1, 12, 30, box, 1, 0.9, 3, 3, "correct", "correct")],
        stack.pair_ids[7]: [Patch(1, 25, 4, box, -1, 0.5, 1, 2, "mask", "mask")],
    }
    return repaired_stack(stack, repairs)


def _rasters(result) -> dict[str, np.ndarray]:
    return {name: gdal.Open(str(path)).ReadAsArray() for name, path in result.files.items()
            if path.suffix == ".tif"}


@pytest.mark.parametrize("variant", ["plain", "coherence_reference_threads"])
def test_dask_outputs_identical_to_single_process(stack_folder, cluster, tmp_path, monkeypatch,
                                                  variant):
    stack = _repaired(open_stack(stack_folder))
    assert isinstance(stack.source(3), RepairedSource)
    keep = np.ones(stack.n_pairs, bool)
    keep[[1, 5, 9]] = False  # a selection
    options = InversionOptions(memory_gb=TINY_BUDGET_GB)
    if variant != "plain":
        # Coherence weights, a reference pixel in a later block (read by a worker) and three
        # solve threads set here only: the workers must solve in this machine's chunks.
        monkeypatch.setenv("SBAS_SOLVE_WORKERS", "3")
        options = InversionOptions(memory_gb=TINY_BUDGET_GB, weighting="coherence",
                                   reference_pixel=(33, 20))
    here = run_inversion(stack, tmp_path / "here", keep=keep, options=options)
    there = run_inversion(stack, tmp_path / "dask", keep=keep, options=options, cluster=cluster)
    ours, theirs = _rasters(here), _rasters(there)
    assert sorted(ours) == sorted(theirs) and len(ours) == 6
    for name in ours:
        assert np.array_equal(ours[name], theirs[name], equal_nan=True), name
    assert np.isfinite(ours["velocity"]).mean() > 0.8  # there is something to compare
    assert (here.pixels_solved, here.warnings) == (there.pixels_solved, there.warnings)
    assert (tmp_path / "here" / "velocity.qml").read_text() == \
        (tmp_path / "dask" / "velocity.qml").read_text()
    if variant != "plain":
        return
    # The repairs reached the workers: without them the velocity differs in the patch.
    plain = _rasters(run_inversion(open_stack(stack_folder), tmp_path / "unrepaired", keep=keep,
                                   options=options, cluster=cluster))
    assert not np.array_equal(plain["velocity"][12:17, 30:36], ours["velocity"][12:17, 30:36],
                              equal_nan=True)


def test_stack_with_repairs_pickles_and_reads_the_same(stack_folder):
    stack = _repaired(open_stack(stack_folder))
    copy = pickle.loads(pickle.dumps(stack))
    for index in (3, 7):
        assert np.array_equal(copy.read_phase(index), stack.read_phase(index), equal_nan=True)


def test_cancel_between_blocks_leaves_nothing(stack_folder, cluster, tmp_path):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(InversionCancelledError):
        run_inversion(open_stack(stack_folder), tmp_path,
                      options=InversionOptions(memory_gb=TINY_BUDGET_GB), cancelled=cancelled,
                      cluster=cluster)
    assert list(tmp_path.iterdir()) == []


def test_a_workers_read_error_is_the_usual_one_line(stack_folder, cluster, tmp_path):
    import shutil

    copy = tmp_path / "stack"
    shutil.copytree(stack_folder, copy)
    stack = open_stack(copy)
    reference = stack.reference_values  # (read here, before the file goes)
    assert reference.size
    broken = next(copy.rglob("*_unw_phase.tif"))
    broken.write_bytes(b"not a tiff")
    with pytest.raises(StackError, match=r"unw_phase\.tif"):
        run_inversion(stack, tmp_path / "out", options=InversionOptions(memory_gb=0.01),
                      cluster=cluster)


def test_parse_target():
    assert parse_target("4") == 4
    assert parse_target("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    for bad in ("0", "four", "tcp://"):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_unreachable_scheduler_is_one_line(stack_folder, capsys, tmp_path, monkeypatch):
    from sbas_selector.core.inversion import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 2)
    # Port 9 on the loopback: nothing listens there.
    code = main(["invert", str(stack_folder), "--out", str(tmp_path / "out"),
                 "--dask", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "Dask scheduler" in err and len(err.strip().splitlines()) == 1


def test_without_dask_the_cli_says_what_to_install(stack_folder, tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(ClusterError, match=r"install dask\[distributed\] to use --dask"):
        with dask_cluster(1, memory_gb=1.0):
            pass
    code = main(["invert", str(stack_folder), "--out", str(tmp_path / "out"), "--dask", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "install dask[distributed] to use --dask" in err
    assert not (tmp_path / "out").exists()


def test_the_plugin_and_single_machine_path_never_import_dask():
    code = ("import sys\n"
            "import sbas_selector.core.inversion, sbas_selector.cli, sbas_selector.report\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_invert_on_a_local_cluster(stack_folder, tmp_path, capsys):
    assert main(["invert", str(stack_folder), "--out", str(tmp_path / "dask"), "--dask", "2",
                 "--worker-memory-gb", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "2 worker(s) x 1 thread, 0.5 GiB each" in out and "--memory-gb 0.3" in out
    assert main(["invert", str(stack_folder), "--out", str(tmp_path / "here"),
                 "--memory-gb", "0.3"]) == 0
    ours, theirs = (gdal.Open(str(tmp_path / d / "timeseries.tif")).ReadAsArray()
                    for d in ("here", "dask"))
    assert np.array_equal(ours, theirs, equal_nan=True)


def test_a_task_solves_with_the_clients_blas_threads(monkeypatch):
    """Workers start with one BLAS thread (Dask's nannies set OPENBLAS_NUM_THREADS=1); a
    task solves with the count the client passes, whose last bits it reproduces."""
    from sbas_selector.core.blas import blas_thread_count, can_limit_blas
    from sbas_selector.core.inversion import distributed

    if not can_limit_blas():
        pytest.skip("the BLAS thread count cannot be set here")
    seen = []
    monkeypatch.setattr(distributed, "read_block", lambda *args: (None, None))
    monkeypatch.setattr(distributed, "solve_block",
                        lambda *args, **kwargs: seen.append(blas_thread_count()) or {})
    for blas in (1, 2):
        distributed._solve_window(None, None, None, 1, blas, 2**40, False)
    assert seen == [1, 2]
