from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from sbas_selector.core.connectivity import propose_readmissions

D = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(6)]
# Two triangles (0,1,2) and (3,4,5) joined by three candidate pairs.
PAIRS = [(D[0], D[1]), (D[1], D[2]), (D[0], D[2]), (D[3], D[4]), (D[4], D[5]), (D[3], D[5]),
         (D[2], D[3]), (D[1], D[3]), (D[2], D[4])]
IDS = [f"p{k}" for k in range(len(PAIRS))]


def test_connected_network_needs_nothing():
    plan = propose_readmissions(PAIRS, IDS, np.ones(9, bool))
    assert plan.proposals == () and plan.pieces_before == 1


def test_fewest_best_readmission():
    keep = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0], bool)
    probability = np.array([.9] * 6 + [0.2, 0.7, 0.4])
    plan = propose_readmissions(PAIRS, IDS, keep, probability)
    assert [r.pair_id for r in plan.proposals] == ["p7"]  # one pair, the most probable
    assert plan.pieces_before == 2 and plan.pieces_after == 1
    assert "re-admit p7 (probability of high quality 0.70)" in plan.proposals[0].describe()


def test_user_drops_are_never_readmitted_and_unreachable_named():
    keep = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0], bool)
    protected = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1], bool)
    plan = propose_readmissions(PAIRS, IDS, keep, protected=protected)
    assert plan.proposals == ()
    assert plan.unreachable == ((D[3], D[4], D[5]),) or plan.unreachable == ((D[0], D[1], D[2]),)


def test_three_pieces_two_proposals():
    pairs = [*PAIRS, (D[5], date(2020, 4, 1)), (D[4], date(2020, 4, 1))]
    ids = [*IDS, "p9", "p10"]
    keep = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    coherence = np.array([.6] * 6 + [.3, .5, .4, .2, .7])
    plan = propose_readmissions(pairs, ids, keep, coherence=coherence)
    assert [r.pair_id for r in plan.proposals] == ["p7", "p10"]
    assert plan.pieces_before == 3 and plan.pieces_after == 1


def test_cli_keep_connected_and_soft_inversion(stack_copy, tmp_path, capsys):
    import json

    from sbas_selector.cli import main
    from sbas_selector.core import open_stack
    from sbas_selector.core.labels import Label, LabelsStore

    assert main(["select", str(stack_copy), "--max-days", "30"]) == 0
    assert main(["network", str(stack_copy), "--json", "--no-closure"]) == 0
    capsys.readouterr()
    store = LabelsStore.open(open_stack(stack_copy))
    user_dropped = next(p for p in store.pair_ids if store.final(p) is Label.LOW)
    store.set_override(user_dropped, "low")
    assert main(["select", str(stack_copy), "--keep-connected"]) == 0
    out = capsys.readouterr().out
    assert "re-admit" in out
    store = LabelsStore.open(open_stack(stack_copy))
    assert store.final(user_dropped) is Label.LOW  # never re-admitted
    readmitted = [p for p in store.pair_ids if store.labels[p].source.value == "connectivity"]
    assert readmitted and user_dropped not in readmitted
    assert main(["network", str(stack_copy), "--json", "--no-closure"]) == 0
    report = json.loads(capsys.readouterr().out)
    isolated = set(report["isolated_dates"])
    assert len([p for p in report["pieces"] if not set(p) <= isolated]) == 1
    # Soft weighting reads probability_high from a labels CSV.
    labels = tmp_path / "labels.csv"
    labels.write_text("pair_id,probability_high,label\n" + "".join(
        f"{p},{0.9 if k % 3 else 0.05},high\n" for k, p in enumerate(store.pair_ids)))
    assert main(["invert", str(stack_copy), "--labels", str(labels), "--soft",
                 "--out", str(tmp_path / "soft")]) == 0
    summary = json.loads((tmp_path / "soft" / "inversion.json").read_text())
    assert summary["soft_weights"] and summary["n_pairs"] == 30


def test_thresholds_that_split_are_reported_with_the_smallest_fix(stack_copy, capsys):
    from sbas_selector.cli import main
    from sbas_selector.core import open_stack
    from sbas_selector.core.network import network_health, reconnecting_thresholds
    from sbas_selector.core.network import select_by_baseline as by_baseline

    stack = open_stack(stack_copy)
    fix = reconnecting_thresholds(stack, 30, None)
    assert fix["max_days"] is not None and fix["max_days"] > 30
    pairs = [(p.date1, p.date2) for p in stack.pairs]
    assert network_health(pairs, by_baseline(stack, fix["max_days"], None)).connected
    smaller = max(d for d in stack.days if d < fix["max_days"])  # the smallest: one less fails
    assert not network_health(pairs, by_baseline(stack, smaller, None)).connected or \
        network_health(pairs, by_baseline(stack, smaller, None)).isolated_dates
    assert reconnecting_thresholds(stack, 1000, None) == {}
    assert main(["select", str(stack_copy), "--max-days", "30"]) == 0
    err = capsys.readouterr().err
    assert "leave the network in" in err and f"--max-days {fix['max_days']:g}" in err


def test_plan_from_labels_ignores_earlier_readmissions_and_keeps_the_analysts_word(stack_copy):
    from sbas_selector.core import open_stack
    from sbas_selector.core.connectivity import plan_readmissions, readmit_to_connect
    from sbas_selector.core.labels import Label, LabelsStore

    stack = open_stack(stack_copy)
    store = LabelsStore.open(stack)
    last = stack.dates[-1]
    # The model scores every pair that reaches the last date low: that date is cut off.
    scores = {p.pair_id: (0.1 if p.date2 == last else 0.9) for p in stack.pairs}
    store.set_predictions(scores, 0.5)
    plan = readmit_to_connect(stack, store)
    assert plan.pieces_before == 2 and len(plan.proposals) == 1 and plan.pieces_after == 1
    chosen = plan.proposals[0].pair_id
    assert store.final(chosen) is Label.HIGH
    assert store.labels[chosen].final_before_readmission is Label.LOW
    # Planning again sees the network as the selection left it, not as re-admission made it.
    assert [r.pair_id for r in plan_readmissions(stack, store).proposals] == [chosen]
    # The analyst keeps another pair to the last date by hand: nothing is re-admitted then.
    other = next(p.pair_id for p in stack.pairs if p.date2 == last and p.pair_id != chosen)
    store.set_override(other, Label.HIGH)
    assert readmit_to_connect(stack, store).proposals == ()
    assert store.final(chosen) is Label.LOW
