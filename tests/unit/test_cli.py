from __future__ import annotations

import json

import pytest

from sbas_selector.cli import main


def test_info_json_on_real_stack(real_stack_path, capsys):
    assert main(["info", str(real_stack_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("n_dates", "n_pairs", "pairs", "width", "height", "crs", "wavelength_m"):
        assert key in info
    assert (info["n_dates"], info["n_pairs"], info["width"], info["height"]) == (13, 30, 100, 60)
    assert info["crs"] == "EPSG:4326"
    assert info["pairs"][0]["pair_id"] == "20180106_20180130"
    assert abs(info["pairs"][0]["bperp_m"] - 30.34) < 0.01


def test_simulate_all_formats_then_info_each(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--seed", "2", "--format", "all",
                 "--dates", "8", "--size", "32x40"]) == 0
    capsys.readouterr()
    counts = set()
    for target in ("hyp3", "mintpy", "GEOCml1", "geotiff"):
        assert main(["info", str(out / target), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        counts.add((info["n_dates"], info["n_pairs"], info["width"], info["height"]))
    assert len(counts) == 1  # every format holds the same stack
    n_dates, n_pairs, width, height = counts.pop()
    assert (n_dates, width, height) == (8, 40, 32) and n_pairs >= 7
    labels = (out / "truth" / "labels.csv").read_text().splitlines()
    assert labels[0].startswith("pair_id,date1,date2")
    assert (out / "truth" / "velocity.tif").is_file()


def test_simulate_water_and_coherence_scale(tmp_path, capsys):
    """More water and less coherent ground leave more pixels without data, and the knobs
    reach the simulator's config."""
    from osgeo import gdal

    def missing_share(out, extra):
        assert main(["simulate", "--out", str(out), "--seed", "3", "--dates", "6",
                     "--size", "48x48", "--low-quality-fraction", "0", *extra]) == 0
        config = json.loads((out / "truth" / "config.json").read_text())
        phase = [gdal.Open(str(f)).ReadAsArray() for f in sorted(out.glob(
            "hyp3/*/*_unw_phase.tif"))]
        return config, float(sum((p == 0).mean() for p in phase) / len(phase))

    default_config, default_missing = missing_share(tmp_path / "default", [])
    config, missing = missing_share(tmp_path / "wet", ["--water-fraction", "0.3",
                                                       "--coherence-scale", "0.6"])
    capsys.readouterr()
    assert (default_config["water_fraction"], default_config["coherence_scale"]) == (0.05, 1.0)
    assert (config["water_fraction"], config["coherence_scale"]) == (0.3, 0.6)
    assert missing > default_missing + 0.2  # at least the extra water is missing
    for bad in (["--water-fraction", "0.6"], ["--coherence-scale", "0"]):
        with pytest.raises(SystemExit) as stop:
            main(["simulate", "--out", str(tmp_path / "bad"), *bad])
        assert stop.value.code == 2 and bad[0] in capsys.readouterr().err


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path), "--format", "shapefile"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_the_command_sets_the_imports_aside_from_the_garbage_collector(monkeypatch, capsys):
    """The launcher's entry freezes what the imports made, then runs the command as main."""
    import gc

    from sbas_selector import cli

    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cli, "main",
                        lambda argv=None, **_: calls.append(("main", argv)) or 7)
    gc.disable()  # as the launcher does before the imports
    try:
        assert cli.run(["info", "x"]) == 7
        assert gc.isenabled()
    finally:
        gc.enable()
    assert calls == ["freeze", ("main", ["info", "x"])]


def test_output_piped_into_a_reader_that_stops_is_not_an_error(real_stack_path):
    """``sbas-selector info STACK | head -0``: no error message, the status of a SIGPIPE."""
    import subprocess
    import sys

    command = [sys.executable, "-c", "import sys; from sbas_selector.cli import run; "
               "sys.exit(run())", "info", str(real_stack_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        process.stdout.close()  # the reader is gone before the first line
        error = process.stderr.read().decode()
        status = process.wait(timeout=60)
    assert "error" not in error and "Traceback" not in error, error
    assert status == 141


@pytest.mark.parametrize("given", [None, "2"])
def test_the_command_line_starts_the_blas_without_threads_of_its_own(given):
    """The command line imports numpy with OPENBLAS_NUM_THREADS=1 (its solves run in threads
    of their own, each with one BLAS thread; OpenBLAS's idle threads would only spin as numpy
    starts), unless the user set it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    probe = ("import os, sys; from sbas_selector import cli; "
             "from sbas_selector.core.blas import blas_thread_count; "
             "print(os.environ['OPENBLAS_NUM_THREADS'], blas_thread_count())")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out[0] == (given or "1")
    if out[1] != "None":  # (None: a BLAS whose threads cannot be counted, e.g. the reference)
        assert int(out[1]) == min(int(given or "1"), os.cpu_count() or 1)


def test_an_inversion_ends_without_the_teardown_its_output_complete(real_stack_path, tmp_path):
    """Once ``invert`` has committed its outputs, the command ends the process without the
    interpreter's teardown (exit handlers do not run), its printed lines all delivered through
    a pipe; a command that fails, or any other command, ends the usual way."""
    import subprocess
    import sys

    launcher = ("import atexit, sys; atexit.register(lambda: print('TEARDOWN', file=sys.stderr));"
                " from sbas_selector.cli import run; sys.exit(run())")

    def command(*args):
        return subprocess.run([sys.executable, "-c", launcher, *args], capture_output=True,
                              text=True, timeout=300)

    done = command("invert", str(real_stack_path), "--out", str(tmp_path / "inv"))
    assert done.returncode == 0, done.stderr
    assert "TEARDOWN" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("inverted ") and lines[-1].split()[0] == "summary", lines
    assert (tmp_path / "inv" / "velocity.tif").stat().st_size > 0
    failed = command("invert", str(tmp_path / "missing"), "--out", str(tmp_path / "bad"))
    assert failed.returncode == 2 and "TEARDOWN" in failed.stderr
    info = command("info", str(real_stack_path))
    assert info.returncode == 0 and "TEARDOWN" in info.stderr
