"""Network health on hand-checked networks and the real stack; loop-closure evidence."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core import open_stack
from sbas_selector.core.network import (
    closed_triplets,
    loop_closure,
    network_health,
    select_by_baseline,
)

D = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(5)]
# 0-1, 1-2, 0-2 (a triangle), 2-3 (a bridge), 3-4 (a bridge at the end)
PAIRS = [(D[0], D[1]), (D[1], D[2]), (D[0], D[2]), (D[2], D[3]), (D[3], D[4])]


def test_hand_checked_network_all_kept():
    health = network_health(PAIRS, np.ones(5, bool), coherence=np.array([.9, .8, .3, .7, .6]))
    assert health.connected and health.isolated_dates == ()
    assert health.bridges == (3, 4)
    assert health.cut_off_by_drop == {3: (D[3], D[4]), 4: (D[4],)}
    assert health.redundancy == (2, 2, 3, 2, 1)
    assert health.temporal_gaps == ()
    # The spanning tree skips the least coherent pair of the triangle.
    assert health.spanning_tree == (0, 1, 3, 4)


def test_hand_checked_network_with_drops():
    keep = np.array([True, True, True, False, True])
    health = network_health(PAIRS, keep)
    assert not health.connected
    assert health.pieces == ((D[0], D[1], D[2]), (D[3], D[4]))
    assert health.temporal_gaps == ((D[2], D[3]),)
    keep = np.array([True, True, True, True, False])
    health = network_health(PAIRS, keep)
    assert health.isolated_dates == (D[4],)



def _bridges_by_dropping_each(pairs, keep):
    """The definition, quadratic: drop each kept pair in turn and count the pieces again."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    dates = sorted({d for pair in pairs for d in pair})
    index = {d: i for i, d in enumerate(dates)}
    edges = [(index[a], index[b]) for a, b in pairs]

    def components(used):
        if not used:
            return len(dates), np.arange(len(dates))
        rows, cols = zip(*(edges[q] for q in used))
        graph = coo_matrix((np.ones(len(used)), (rows, cols)), shape=(len(dates),) * 2)
        return connected_components(graph, directed=False)

    kept = [p for p in range(len(pairs)) if keep[p]]
    n_pieces, labels = components(kept)
    sizes = np.bincount(labels)
    main = {dates[k] for k in range(len(dates)) if labels[k] == np.argmax(sizes)}
    cut_off = {}
    for p in kept:
        n_after, after = components([q for q in kept if q != p])
        if n_after > n_pieces:
            i_side, j_side = ({dates[k] for k in range(len(dates)) if after[k] == after[e]}
                              for e in edges[p])
            cut_off[p] = tuple(sorted(i_side if len(i_side & main) < len(j_side & main)
                                      else j_side))
    return cut_off


@pytest.mark.parametrize("seed", range(12))
def test_bridges_match_dropping_each_pair(seed):
    """The linear bridge search gives what dropping each pair in turn gives, on sparse random
    networks (several pieces, isolated dates, chains)."""
    rng = np.random.default_rng(seed)
    dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(int(rng.integers(5, 30)))]
    pairs = [(dates[i], dates[j]) for i in range(len(dates))
             for j in range(i + 1, min(i + 4, len(dates)))]
    keep = rng.uniform(size=len(pairs)) < rng.uniform(0.3, 0.8)
    health = network_health(pairs, keep)
    expected = _bridges_by_dropping_each(pairs, keep)
    assert health.bridges == tuple(sorted(expected))
    assert health.cut_off_by_drop == expected


def test_closed_triplets():
    assert closed_triplets(PAIRS) == [(0, 1, 2)]


def test_real_stack_closes_every_triplet(real_stack_path):
    stack = open_stack(real_stack_path)
    evidence = loop_closure(stack)
    assert len(evidence.triplet_pairs) == 24
    assert evidence.triplets.sum() == 72
    assert evidence.misclosed.sum() == 0  # README: every closed triplet agrees
    assert evidence.triplet_misclosure.max() < 0.005


def test_loop_closure_flags_simulated_unwrapping_errors():
    from sbas_selector.core.simulation import SimulationConfig, simulate

    sim = simulate(SimulationConfig(seed=3, n_dates=16, rows=48, cols=48,
                                    cause_weights={"unwrapping_error": 1.0}))
    evidence = loop_closure(sim.to_stack())
    share = evidence.misclosed_share
    bad = [i for i, t in enumerate(sim.truth) if "unwrapping_error" in t.causes]
    good = [i for i, t in enumerate(sim.truth) if t.label == "high"]
    in_triplets = [i for i in bad if evidence.triplets[i] > 0]
    assert in_triplets
    # Pairs with an unwrapping error misclose in most of their triplets; clean pairs only
    # where a partner carries the error.
    assert np.nanmedian(share[in_triplets]) > 0.5
    assert np.nanmedian(share[good]) < np.nanmedian(share[in_triplets])


def test_select_by_baseline(real_stack_path):
    stack = open_stack(real_stack_path)
    keep = select_by_baseline(stack, max_days=60, max_bperp_m=50)
    expected = (stack.days <= 60) & (np.abs(stack.bperp_m) <= 50)
    np.testing.assert_array_equal(keep, expected)
    assert 0 < keep.sum() < stack.n_pairs


@pytest.mark.parametrize("max_days,max_bperp", [(None, None), (1000, None), (None, 1e6)])
def test_select_by_baseline_no_limit_keeps_all(real_stack_path, max_days, max_bperp):
    stack = open_stack(real_stack_path)
    assert select_by_baseline(stack, max_days, max_bperp).all()


def test_graph_model_and_drop_warning(real_stack_path, tmp_path):
    import shutil

    from sbas_selector.core.labels import LabelsStore
    from sbas_selector.core.review import baseline_graph, drop_warning, health_text

    target = tmp_path / "stack"
    shutil.copytree(real_stack_path, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    stack = open_stack(target)
    store = LabelsStore.open(stack)
    graph = baseline_graph(stack, store)
    assert len(graph.dates) == 13 and len(graph.edges) == 30
    assert health_text(graph.health).startswith("Network connected")
    # 2018-07-05 has a single pair (20180506_20180705): dropping it cuts that date off.
    index = stack.index_of("20180506_20180705")
    warning = drop_warning(graph, index)
    assert "last kept pair of 2018-07-05" in warning and "bridge" in warning
    assert drop_warning(graph, stack.index_of("20180319_20180331")) is None
    store.set_override("20180506_20180705", "low")
    graph = baseline_graph(stack, store)
    assert graph.edges[index].label.value == "low" and graph.edges[index].by_user
    assert "split into 2 pieces" in health_text(graph.health)
