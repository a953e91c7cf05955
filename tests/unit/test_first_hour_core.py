"""Small things an analyst meets in the first hour (issue 13, item 9), in the core."""

from __future__ import annotations

import os
import stat


def test_exported_files_get_the_usual_mode(tmp_path, small_simulation):
    from sbas_selector.core import open_stack
    from sbas_selector.core.exports import export_pairs
    from sbas_selector.core.formats.hyp3 import write_hyp3
    from sbas_selector.core.labels import LabelsStore

    folder = write_hyp3(small_simulation.to_stack(), tmp_path / "hyp3")
    stack = open_stack(folder)
    store = LabelsStore.open(stack)
    previous = os.umask(0o022)
    try:
        written = export_pairs(stack, store, "mintpy", tmp_path / "exclude.txt")
    finally:
        os.umask(previous)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path  # mkstemp alone gives 0600


def test_simulate_help_documents_every_option(capsys):
    import pytest

    from sbas_selector.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "random seed" in text
    assert "share of pairs degraded to low quality" in text
    assert "longest perpendicular baseline, m (default: 150)" in text


def test_sample_stack_notice_does_not_say_not_writable(monkeypatch, tmp_path, real_stack_path):
    import shutil

    from sbas_selector.core import open_stack, paths
    from sbas_selector.core.labels import LabelsStore

    sample_data = tmp_path / "plugin" / "sample_data"
    shutil.copytree(real_stack_path, sample_data / real_stack_path.name)
    monkeypatch.setattr(paths, "SAMPLE_DATA", sample_data.resolve())
    store = LabelsStore.open(open_stack(sample_data / real_stack_path.name))
    assert "not writable" not in store.notice
    assert "bundled sample stack stays as shipped" in store.notice
