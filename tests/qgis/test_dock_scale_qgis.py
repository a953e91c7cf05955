"""The dock with a frame-sized network (issue 16): a 400-pair stack opens with every pair in the
table and on the graph, and a decision, a selection or a filter touch what they change only,
however many pairs there are. Counted, never timed (the machine is shared): the work per
decision is the same at 100 and at 400 pairs."""

from __future__ import annotations

import pytest

#: Simulated networks (60-day pairs, seed 3): dates -> pairs, 28 -> 102, 92 -> 404. Small
#: rasters: the pair count is what the dock's views scale with.
NETWORKS = {100: 28, 400: 92}


@pytest.fixture(scope="session")
def network_stacks(tmp_path_factory):
    """HyP3 folders of about 100 and 400 pairs, 16 x 16 px, simulated once per session."""
    from sbas_selector.core.formats.hyp3 import write_hyp3
    from sbas_selector.core.simulation import SimulationConfig, simulate

    folder = tmp_path_factory.mktemp("networks")
    stacks = {}
    for size, n_dates in NETWORKS.items():
        sim = simulate(SimulationConfig(seed=3, n_dates=n_dates, rows=16, cols=16,
                                        max_days=60))
        stacks[size] = write_hyp3(sim.to_stack(), folder / f"hyp3_{size}")
    return stacks


@pytest.fixture()
def open_network(iface, wait_for, monkeypatch, tmp_path, network_stacks):
    """``open_network(size)``: the plugin's dock with the ~``size``-pair stack open."""
    from qgis.core import QgsProject

    import sbas_selector

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    plugin.dock.confirm = lambda title, text: True

    def open_stack(size):
        opened = []
        plugin.dock.stack_opened.connect(opened.append)
        plugin.dock.open_stack(str(network_stacks[size]))
        wait_for(lambda: opened, timeout_s=120)
        plugin.dock.stack_opened.disconnect(opened.append)
        plugin.dock.resize(700, 900)
        plugin.dock.show()
        return plugin.dock

    yield open_stack
    plugin.unload()
    QgsProject.instance().clear()


class Touched:
    """Counts what one step makes the views do: table rows announced changed, table resets,
    graph edges restyled, layer-tree nodes added, label saves."""

    def __init__(self, dock, monkeypatch) -> None:
        from qgis.core import QgsProject

        self.dock = dock
        self.rows: list[int] = []
        self.resets = 0
        self.tree_added = 0
        self.saves = 0
        dock.table_model.dataChanged.connect(
            lambda first, last, *_: self.rows.extend(range(first.row(), last.row() + 1)))
        dock.table_model.modelReset.connect(self._reset)
        QgsProject.instance().layerTreeRoot().addedChildren.connect(self._added)
        save = dock.store.save

        def counted_save():
            self.saves += 1
            save()

        monkeypatch.setattr(dock.store, "save", counted_save)

    def _reset(self) -> None:
        self.resets += 1

    def _added(self, _node, first: int, last: int) -> None:
        self.tree_added += last - first + 1

    def clear(self) -> None:
        self.rows.clear()
        self.resets = self.tree_added = self.saves = 0


def test_a_400_pair_stack_opens_whole_in_the_table_and_graph(open_network):
    dock = open_network(400)
    n = dock.stack.n_pairs
    assert n >= 400
    assert dock.table_model.rowCount() == dock.table_proxy.rowCount() == n
    assert len(dock.graph_model.edges) == n and len(dock.graph_model.dates) == 92
    # The table's rows are the stack's pairs, each once.
    ids = {dock.table_proxy.index(row, 0).data() for row in range(n)}
    assert ids == set(dock.stack.pair_ids)
    assert dock.counts_label.text().startswith(f"{n} pairs:")
    # Layers are made as pairs are shown: the current one (and its coherence), not 800.
    assert list(dock.layers.phase_layers) == [dock.current]
    assert list(dock.layers.coherence_layers) == [dock.current]
    assert len(dock.layers.phase_group.findLayers()) == 1
    # Every edge was styled once, and the graph draws all of them.
    assert dock.graph.restyled == n
    assert not dock.graph.grab().isNull()


def test_work_per_decision_does_not_grow_with_the_pairs(open_network, monkeypatch):
    """K/D, selecting, undo: the same table rows, graph edges and layer-tree nodes are
    touched at 100 as at 400 pairs."""
    dock = None
    work = {}
    for size in NETWORKS:
        dock = open_network(size)
        touched = Touched(dock, monkeypatch)
        kept = [i for i, e in enumerate(dock.graph_model.edges) if e.label.value == "high"]
        index = kept[len(kept) // 2]
        steps = {}
        touched.clear()
        dock.select_pair(index)  # a pair not shown before: its two layers are made
        steps["select"] = (sorted(set(touched.rows)), touched.tree_added, touched.resets)
        touched.clear()
        dock.mark("low")
        steps["drop"] = (sorted(set(touched.rows)), dock.graph.restyled, touched.tree_added,
                         touched.resets, touched.saves)
        assert dock.store.final(dock.stack.pair_ids[index]).value == "low"
        assert dock.graph_model.edges[index].label.value == "low"
        row = dock.table_proxy.mapFromSource(dock.table_model.index(index, 7))
        assert row.data() == "low"
        touched.clear()
        dock.undo()
        steps["undo"] = (sorted(set(touched.rows)), dock.graph.restyled, touched.tree_added,
                         touched.resets, touched.saves)
        assert dock.store.final(dock.stack.pair_ids[index]).value == "high"
        touched.clear()
        dock.select_pair(0)  # the pair shown at opening, then back: nothing is added
        dock.select_pair(index)
        steps["reselect"] = (touched.tree_added, touched.resets)
        # In rows relative to the decided pair, so that both sizes compare.
        work[size] = {name: _relative(value, index) for name, value in steps.items()}
    assert work[100] == work[400]
    assert work[400]["drop"] == ([0], 1, 0, 0, 1)  # its row, its edge, no layer, one save
    assert work[400]["undo"] == ([0], 1, 0, 0, 1)
    assert work[400]["select"] == ([], 2, 0)  # the phase and coherence layers
    assert work[400]["reselect"] == (0, 0)


def _relative(value, index):
    if isinstance(value, tuple) and value and isinstance(value[0], list):
        return ([row - index for row in value[0]], *value[1:])
    return value


def test_filter_keeps_the_rows_showing_the_text(open_network):
    dock = open_network(400)
    n = dock.stack.n_pairs
    dropped = set(dock.stack.pair_ids[i] for i in range(0, n, 7))
    dock.store.clear_overrides([])  # nothing to clear: nothing saved, nothing raised
    for pair_id in dropped:
        dock.store.labels[pair_id].override = "low"
    dock.refresh()
    dock.filter_edit.setText("USER")  # the Source column, any case
    shown = {dock.table_proxy.index(r, 0).data() for r in range(dock.table_proxy.rowCount())}
    assert shown == dropped
    dock.filter_edit.setText(dock.stack.pair_ids[5][:13])  # part of one pair id
    shown = {dock.table_proxy.index(r, 0).data() for r in range(dock.table_proxy.rowCount())}
    assert dock.stack.pair_ids[5] in shown
    assert all(dock.stack.pair_ids[5][:13] in pair_id for pair_id in shown)
    dock.filter_edit.setText("")
    assert dock.table_proxy.rowCount() == n


def test_accept_all_saves_once_and_classify_updates_the_table_in_one_go(open_network,
                                                                       monkeypatch):
    from sbas_selector.core.classify import ClassificationResult

    dock = open_network(400)
    touched = Touched(dock, monkeypatch)
    for index in range(0, 40):
        dock.select_pair(index)
        dock.mark("low")
    touched.clear()
    dock.accept_all()
    assert touched.saves == 1  # not one save (the whole file) per cleared pair
    assert sorted(set(touched.rows)) == list(range(40))
    assert all(dock.store.labels[p].override is None for p in dock.stack.pair_ids)
    dock.undo()  # each cleared decision comes back on its own
    assert sum(dock.store.labels[p].override is not None for p in dock.stack.pair_ids) == 1
    # The classifier's result: every row changes, announced once for the whole table.
    probabilities = {p: (0.9 if k % 3 else 0.1) for k, p in enumerate(dock.stack.pair_ids)}
    result = ClassificationResult(probabilities=probabilities, no_data=(), provider="CPU: test",
                                  model={"name": "test", "threshold": 0.5})
    emitted = []
    dock.table_model.dataChanged.connect(lambda first, last, *_: emitted.append(
        (first.row(), last.row())))
    dock._classified((None, result))
    assert emitted == [(0, dock.stack.n_pairs - 1)]
    low = [i for i, e in enumerate(dock.graph_model.edges) if e.label.value == "low"]
    assert len(low) >= dock.stack.n_pairs // 3
    assert dock.graph.restyled == dock.stack.n_pairs  # every score is new


def test_a_frame_sized_layer_is_written_in_the_background(open_network, monkeypatch, wait_for,
                                                          iface):
    """Above BACKGROUND_PIXELS (a frame's 2,500 x 3,000 px) the display raster is written by a
    task: selecting returns at once, the layer comes when written, only the pair still wanted
    is shown, and the map zooms to the stack then."""
    from sbas_selector.ui import layers

    monkeypatch.setattr(layers, "BACKGROUND_PIXELS", 0)  # every raster counts as large here
    dock = open_network(100)
    wait_for(lambda: dock.current in dock.layers.phase_layers)
    first = dock.layers.phase_layers[dock.current]
    assert dock.layers.group.findLayer(first.id()).isVisible()
    assert iface.mapCanvas().extent().intersects(first.extent())  # zoomed once it came
    assert "preparing" not in dock.pair_label.text()
    for index in (10, 11, 12):  # stepping faster than the layers are written
        dock.select_pair(index)
        assert "preparing its map layer" in dock.pair_label.text()
        visible = [n for n in dock.layers.phase_group.findLayers() if n.isVisible()]
        assert visible == []  # never the previous pair's phase under this pair's name
    wait_for(lambda: 12 in dock.layers.phase_layers and not dock.layers.pending)
    visible = [n.layer() for n in dock.layers.phase_group.findLayers() if n.isVisible()]
    assert visible == [dock.layers.phase_layers[12]]
    assert "preparing" not in dock.pair_label.text()
    # Back to a pair already written: shown at once.
    dock.select_pair(0)
    assert dock.layers.group.findLayer(first.id()).isVisible()


def test_the_closure_raster_is_written_by_the_opening_task(open_network, monkeypatch):
    """The per-pixel closure raster (a third of a second for a frame) is written in the
    background; the dock only adds it as a layer."""
    import threading

    from sbas_selector.core import closure_layers
    from sbas_selector.ui import repair_layers

    threads = []
    write = closure_layers.write_closure_raster

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return write(*args, **kwargs)

    monkeypatch.setattr(closure_layers, "write_closure_raster", recorded)
    monkeypatch.setattr(repair_layers, "write_closure_raster", recorded)
    dock = open_network(100)
    assert threads == [False]  # once, not on the main thread
    layer = dock.repairs.closure_layer
    assert layer is not None and layer.isValid()
    assert layer.source() == str(closure_layers.closure_raster_path(dock.stack.path))
