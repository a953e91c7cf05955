"""The network's evidence about each pair, and its combination with the CNN."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core.classify import Classifier, ClassifierError
from sbas_selector.core.evidence import (
    FEATURES,
    EvidenceCollector,
    EvidenceModel,
    NetworkEvidence,
    network_evidence,
    noisy_or,
)
from sbas_selector.core.simulation import SimulationConfig, simulate


@pytest.fixture(scope="module")
def degraded():
    """A stack with every degradation, dense enough for a time series (24 dates); no small
    local errors (the closure check repairs those before the evidence is measured)."""
    config = SimulationConfig(seed=11, n_dates=24, rows=96, cols=96, low_quality_fraction=0.3,
                              small_error_fraction=0.0,
                              cause_weights={"unwrapping_error": 1.0, "decorrelation": 0.2,
                                             "strong_atmosphere": 1.0, "orbital_ramp": 1.0})
    sim = simulate(config)
    stack = sim.to_stack()
    collector = EvidenceCollector(stack.n_pairs)
    for i in range(stack.n_pairs):
        collector.add(i, stack.read_phase(i, referenced=False), stack.read_coherence(i))
    evidence = collector.evidence([(p.date1, p.date2) for p in stack.pairs],
                                  np.ones(stack.n_pairs), stack.wavelength_m)
    return sim, evidence


def _with(sim, cause):
    return np.array([cause in t.causes for t in sim.truth])


def test_atmosphere_is_measured_from_the_time_series(degraded):
    sim, evidence = degraded
    truth = np.array([t.atmosphere_std_mm for t in sim.truth])
    assert np.isfinite(evidence.atmosphere_mm).all()
    assert np.corrcoef(truth, evidence.atmosphere_mm)[0, 1] > 0.9
    # Within a few mm of the truth on clean pairs (unwrapping errors and ramps are not
    # atmosphere and inflate it).
    clean = np.array([t.label == "high" for t in sim.truth])
    assert np.median(np.abs(evidence.atmosphere_mm[clean] - truth[clean])) < 1.5


def test_a_pairs_own_ramp_and_unwrapping_errors_stand_out_from_the_network(degraded):
    sim, evidence = degraded
    ramps, jumps = _with(sim, "orbital_ramp"), _with(sim, "unwrapping_error")
    clean = np.array([t.label == "high" for t in sim.truth])
    measured = np.isfinite(evidence.ramp_fringes)  # not a bridge of the network
    assert (ramps & measured).sum() >= 5 and (jumps & measured).sum() >= 5
    assert measured.mean() > 0.9
    ramp = evidence.ramp_fringes
    assert ramp[ramps & measured].min() > 1.0 > np.nanmax(ramp[clean])
    only_jumps = jumps & ~ramps & measured
    assert evidence.jump_share[only_jumps].min() > 5 * np.nanmax(evidence.jump_share[clean])
    assert np.nanmean(evidence.misfit_rad[jumps]) > 3 * np.nanmean(evidence.misfit_rad[clean])
    assert "atmosphere" in evidence.describe(0) and "fringes" in evidence.describe(0)


def _chain_plus_loop(n_dates=10):
    """Dates in a chain (every pair a bridge) plus one triangle at the start."""
    dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(n_dates)]
    pairs = [(dates[k], dates[k + 1]) for k in range(n_dates - 1)] + [(dates[0], dates[2])]
    return dates, pairs


def test_bridge_pairs_get_no_network_evidence():
    dates, pairs = _chain_plus_loop()
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(0, 1, (len(dates), 64 * 64)), axis=0)
    index = {d: k for k, d in enumerate(dates)}
    phase = np.array([series[index[b]] - series[index[a]] for a, b in pairs])
    evidence = network_evidence(phase, pairs, np.ones(len(pairs)), 0.0555,
                                np.full(len(pairs), np.nan))
    in_loop = [0, 1, len(pairs) - 1]  # d0-d1, d1-d2 and d0-d2 close a triangle
    bridges = [k for k in range(len(pairs)) if k not in in_loop]
    assert np.isnan(evidence.ramp_fringes[bridges]).all()
    assert np.isfinite(evidence.ramp_fringes[in_loop]).all()
    assert evidence.describe(bridges[0]).startswith("atmosphere")  # the series still says
    assert np.nanmax(evidence.misfit_rad[in_loop]) < 1e-6  # consistent data: no misfit


def test_too_small_or_too_few_gives_no_evidence():
    _, pairs = _chain_plus_loop(4)
    collector = EvidenceCollector(len(pairs))
    for i in range(len(pairs)):
        collector.add(i, np.zeros((5, 5)), None)  # narrower than MIN_SIDE
    evidence = collector.evidence(pairs, np.ones(len(pairs)), 0.0555)
    assert np.isnan(evidence.ramp_fringes).all() and np.isnan(evidence.atmosphere_mm).all()
    assert evidence.describe(0) == "no network evidence (bridge pair)"


def _model(ramp_slope=6.0):
    network = {"features": list(FEATURES), "mean": [0.0] * 6, "std": [1.0] * 6,
               "slope": [-2.0, 0.0, 0.0, ramp_slope, 0.0, 0.0], "bias": [-4.0] * 6}
    image = {"features": ["image_logit"], "mean": [0.0], "std": [1.0], "slope": [-2.0],
             "bias": [0.0]}
    return {"network": network, "image": image}


def test_noisy_or_ignores_what_was_not_measured():
    params = _model()["network"]
    features = np.zeros((2, len(FEATURES)))
    features[1, FEATURES.index("ramp")] = np.nan
    p = noisy_or(features, params)
    # Row 1 lacks one reason to be low, so it is at least as likely high.
    assert p[1] > p[0] and 0 < p[0] < 1
    combined = EvidenceModel.from_card(_model())
    chosen = combined.probability_high(features)
    assert chosen[0] == pytest.approx(p[0])  # with a ramp measured: the network's set
    assert chosen[1] == pytest.approx(noisy_or(features[1:], _model()["image"])[0])


def test_malformed_evidence_model_is_refused(tmp_path, make_tiny_model):
    with pytest.raises(ValueError, match="malformed"):
        EvidenceModel.from_card({"network": {}})
    bad = _model()
    bad["network"]["slope"] = [1.0]
    with pytest.raises(ValueError, match="lengths"):
        EvidenceModel.from_card(bad)
    path = make_tiny_model(tmp_path / "bad.onnx", card={"evidence_model": bad})
    with pytest.raises(ClassifierError, match=r"bad\.onnx"):
        Classifier(path, device="cpu")


def test_classify_weighs_in_the_network(tmp_path, make_tiny_model, degraded):
    from sbas_selector.core.exports import labels_csv_text
    from sbas_selector.core.labels import LabelsStore, apply_classification

    sim, _ = degraded
    stack = sim.to_stack()
    plain = Classifier(make_tiny_model(tmp_path / "plain.onnx"), device="cpu")
    assert plain.classify(stack).evidence == {}
    model = make_tiny_model(tmp_path / "ev.onnx", card={"evidence_model": _model()})
    result = Classifier(model, device="cpu").classify(stack)
    ids = stack.pair_ids
    final = np.array([result.probabilities[p] for p in ids])
    image = np.array([result.image_probabilities[p] for p in ids])
    ramps = _with(sim, "orbital_ramp")
    # The tiny CNN cannot see ramps; the network's evidence pulls them down.
    assert final[ramps].mean() < 0.5 * image[ramps].mean()
    assert set(result.evidence) == set(ids) and result.model["evidence"] is True

    store = LabelsStore.open(stack, tmp_path / "labels.json")
    apply_classification(store, result, 0.5)
    assert store.labels[ids[0]].evidence == result.evidence[ids[0]]
    reopened = LabelsStore.open(stack, tmp_path / "labels.json")
    assert reopened.labels[ids[0]].evidence == result.evidence[ids[0]]
    rows = list(csv.DictReader(labels_csv_text(stack, store).splitlines()))
    assert rows[0]["evidence"].startswith("atmosphere")


def test_shipped_model_keeps_the_real_stack(real_stack_path):
    """The shipped model with its network evidence on the real Mexico City stack (30 pairs,
    all high quality): the CNN alone kept 21; #4's target is 29."""
    from sbas_selector.core import open_stack

    stack = open_stack(real_stack_path)
    classifier = Classifier(device="cpu")
    assert classifier.evidence_model is not None
    result = classifier.classify(stack)
    kept = sum(result.probabilities[p] >= classifier.card.threshold for p in stack.pair_ids)
    assert kept >= 29
    assert isinstance(result.network_evidence, NetworkEvidence)


def test_cli_verbose_says_why_pairs_are_dropped(tmp_path, capsys, stack_copy):
    from sbas_selector.cli import main

    assert main(["-v", "classify", str(stack_copy), "--device", "cpu", "--threshold", "0.99",
                 "--out", str(tmp_path / "labels.csv")]) == 0
    dropped = [line for line in capsys.readouterr().out.splitlines() if ": low (" in line]
    assert dropped and all("CNN" in line and "atmosphere" in line for line in dropped)
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    assert all(row["evidence"] for row in rows)
