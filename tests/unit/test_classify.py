"""The classification runtime on tiny ONNX models made here (the shipped model has its own
evaluation target)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbas_selector.core.classify import ClassificationCancelledError, Classifier, ClassifierError


@pytest.fixture()
def tiny_model(make_tiny_model):
    return make_tiny_model


@pytest.fixture()
def model(tmp_path, make_tiny_model):
    return make_tiny_model(tmp_path / "tiny.onnx")


def test_cpu_provider_reported_and_card_read(model):
    classifier = Classifier(model, device="cpu")
    assert classifier.provider == "CPU: CPU requested"
    assert classifier.card.input_size == 32 and classifier.card.class_names == ("low", "high")


def test_cuda_asked_without_gpu_falls_back_to_cpu_with_reason(model):
    from sbas_selector.core.classify import nvidia_driver_present

    classifier = Classifier(model, device="cuda")
    auto = Classifier(model, device="auto")
    if nvidia_driver_present():  # a GPU machine: CUDA must run
        assert classifier.provider.startswith("CUDA:") and auto.provider.startswith("CUDA:")
    else:
        assert classifier.provider.startswith("CPU: ")
        assert classifier.provider.endswith("(CUDA was asked for)")
        assert auto.provider == "CPU: no NVIDIA driver found"


def test_classify_stack_scores_unwrapping_errors_low(model, small_simulation):
    stack = small_simulation.to_stack()
    seen = []
    result = Classifier(model, device="cpu").classify(stack, batch_size=5,
                                                      progress=lambda d, t: seen.append(d))
    assert seen[-1] == stack.n_pairs and len(result.probabilities) == stack.n_pairs
    p = np.array([result.probabilities[pid] for pid in stack.pair_ids])
    assert ((p >= 0) & (p <= 1)).all()
    errors = [i for i, t in enumerate(small_simulation.truth) if "unwrapping_error" in t.causes]
    assert errors and p[errors].mean() < np.delete(p, errors).mean()
    assert result.model["name"] == "tiny" and len(result.model["sha256"]) == 16


def test_batching_does_not_change_scores(model, small_simulation):
    stack = small_simulation.to_stack()
    one = Classifier(model, device="cpu").classify(stack, batch_size=1).probabilities
    many = Classifier(model, device="cpu").classify(stack, batch_size=64).probabilities
    for pid in stack.pair_ids:
        assert one[pid] == pytest.approx(many[pid], abs=1e-6)


def test_all_nodata_pair_is_low_with_cause(model, small_simulation):
    from sbas_selector.core.simulation.simulator import SimulatedStack

    phase = small_simulation.phase.copy()
    phase[2] = np.nan
    sim = SimulatedStack(**{**small_simulation.__dict__, "phase": phase})
    result = Classifier(model, device="cpu").classify(sim.to_stack())
    pid = sim.pairs[2].pair_id
    assert result.no_data == (pid,) and result.probabilities[pid] == 0.0


def test_cancel(model, small_simulation):
    with pytest.raises(ClassificationCancelledError):
        Classifier(model, device="cpu").classify(small_simulation.to_stack(),
                                                 cancelled=lambda: True)


def test_bad_models(tmp_path, tiny_model):
    with pytest.raises(ClassifierError, match="not found"):
        Classifier(tmp_path / "missing.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model")
    with pytest.raises(ClassifierError, match="not a usable ONNX model"):
        Classifier(corrupt, device="cpu")
    with pytest.raises(ClassifierError, match="preprocessing"):
        Classifier(tiny_model(tmp_path / "a.onnx", card={"preprocessing": "rgb-v0"}), "cpu")
    with pytest.raises(ClassifierError, match="does not match the card"):
        Classifier(tiny_model(tmp_path / "b.onnx", card={"input_size": 64}), "cpu")
    import onnx

    bare = tiny_model(tmp_path / "c.onnx")
    proto = onnx.load(str(bare))
    del proto.metadata_props[:]
    onnx.save(proto, str(bare))
    with pytest.raises(ClassifierError, match="lacks"):
        Classifier(bare, "cpu")


def test_missing_onnxruntime_says_what_to_install(model, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("no onnxruntime")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ClassifierError, match="install onnxruntime-gpu"):
        Classifier(model)


def test_cli_classify_writes_labels_and_csv(tmp_path, capsys, small_simulation, tiny_model):
    import csv

    from sbas_selector.cli import main
    from sbas_selector.core.formats.geotiff import write_geotiff_folder
    from sbas_selector.core.labels import sidecar_path

    folder = write_geotiff_folder(small_simulation.to_stack(), tmp_path / "stack")
    model = tiny_model(tmp_path / "tiny.onnx")
    assert main(["classify", str(folder), "--model", str(model), "--device", "cpu",
                 "--out", str(tmp_path / "labels.csv"), "--threshold", "0.6"]) == 0
    captured = capsys.readouterr()
    assert "running on CPU" in captured.err and "classified" in captured.out
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    assert len(rows) == len(small_simulation.pairs)
    by_model = [row for row in rows if row["source"] == "model"]
    assert len(by_model) >= len(rows) // 2
    for row in by_model:
        assert row["label"] == ("high" if float(row["probability_high"]) >= 0.6 else "low")
    for row in rows:  # the closure check drops pairs with errors too large to repair
        if row["source"] == "closure":
            assert row["label"] == "low" and row["closure"] == "dropped"
            assert "too large to repair" in row["repairs"]
        else:
            assert row["source"] == "model"
    saved = json.loads(sidecar_path(folder).read_text())
    assert saved["model"]["name"] == "tiny" and saved["model"]["threshold"] == 0.6


def test_cli_classify_missing_model(tmp_path, capsys, real_stack_path):
    from sbas_selector.cli import main

    assert main(["classify", str(real_stack_path), "--model", str(tmp_path / "x.onnx")]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_planned_provider_and_the_session_share_one_choice(monkeypatch):
    from sbas_selector.core import classify

    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(classify, "nvidia_driver_present", lambda: False)
    assert classify._cuda_choice(cuda, "auto") == (False, "no NVIDIA driver found")
    assert classify._cuda_choice(cuda, "cuda") == (True, "")  # asked for: tried anyway
    assert classify._cuda_choice(["CPUExecutionProvider"], "auto")[1].startswith(
        "this onnxruntime has no CUDA provider")
    assert classify._cuda_choice(cuda, "cpu") == (False, "CPU requested")
    assert classify.planned_provider("cuda") == \
        "CPU: no NVIDIA driver found (CUDA was asked for)"
    monkeypatch.setattr(classify, "nvidia_driver_present", lambda: True)
    assert classify._cuda_choice(cuda, "auto") == (True, "")
    # This onnxruntime-gpu lists CUDA, so with a driver the plan says CUDA.
    assert classify.planned_provider("auto").startswith("CUDA (NVIDIA driver found")
    assert classify.planned_provider("cpu") == "CPU: CPU requested"
