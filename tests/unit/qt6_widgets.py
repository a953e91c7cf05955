"""Run the plugin's QGIS-free widgets offscreen under PyQt6, as QGIS 4 would load them.

``python qt6_widgets.py STACK OUT_JSON``: ``qgis.PyQt.*`` is made to be PyQt6 (as QGIS 4's
``qgis.PyQt`` is: its modules re-export PyQt6's), then the
baseline graph, the pair table, the time-series plot, the help and the dependency dialogs are
built on the real stack, painted, and the graph gets a mouse move and click over an edge.
Writes what a user would see (JSON); any exception fails the run (exit status 1).
"""

from __future__ import annotations

import json
import sys
import types
from datetime import date
from pathlib import Path


def _pyqt6_as_qgis_pyqt() -> None:
    from PyQt6 import QtCore, QtGui, QtWidgets

    assert "PyQt5" not in sys.modules, "PyQt5 loaded: this check must run on PyQt6 alone"
    qgis = types.ModuleType("qgis")
    qgis.__path__ = []  # a package, with nothing but PyQt
    pyqt = types.ModuleType("qgis.PyQt")
    pyqt.__path__ = []
    sys.modules.update({"qgis": qgis, "qgis.PyQt": pyqt, "qgis.PyQt.QtCore": QtCore,
                        "qgis.PyQt.QtGui": QtGui, "qgis.PyQt.QtWidgets": QtWidgets})


def main(stack_path: str, out_path: str) -> None:
    _pyqt6_as_qgis_pyqt()
    import numpy as np
    from PyQt6.QtCore import QT_VERSION_STR, QPointF, Qt
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    app = QApplication(["qt6-check", "-platform", "offscreen"])

    from sbas_selector.core import open_stack
    from sbas_selector.core.dependencies import REQUIREMENTS, Missing
    from sbas_selector.core.inversion.outputs import PixelSeries
    from sbas_selector.core.labels import LabelsStore
    from sbas_selector.core.review import baseline_graph, pair_statistics
    from sbas_selector.ui.baseline_graph import BaselineGraphWidget
    from sbas_selector.ui.dependencies_dialog import DependenciesDialog
    from sbas_selector.ui.help import HelpDialog
    from sbas_selector.ui.pair_table import PairFilterProxy, PairTableModel
    from sbas_selector.ui.timeseries_plot import TimeSeriesPlot

    stack = open_stack(stack_path)
    store = LabelsStore.open(stack)
    statistics = pair_statistics(stack, closure=False)
    seen: dict[str, object] = {"qt": QT_VERSION_STR, "platform": app.platformName()}

    graph = BaselineGraphWidget()
    graph.resize(600, 300)
    graph.set_graph(baseline_graph(stack, store, statistics.mean_coherence),
                    {i: pair.pair_id for i, pair in enumerate(stack.pairs)})
    graph.show()
    clicked: list[int] = []
    graph.pair_clicked.connect(clicked.append)
    point = graph.edge_midpoint(0)
    for kind in (QMouseEvent.Type.MouseMove, QMouseEvent.Type.MouseButtonPress):
        event = QMouseEvent(kind, QPointF(point), graph.mapToGlobal(point),
                            Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(graph, event)
    seen["graph_clicked"] = clicked
    seen["graph_edge_at_midpoint"] = graph.edge_at(point)
    seen["graph_painted"] = not graph.grab().isNull()

    model = PairTableModel()
    model.set_data(stack, store, statistics)
    proxy = PairFilterProxy()
    proxy.setSourceModel(model)
    seen["table"] = [proxy.rowCount(), proxy.columnCount(),
                     proxy.data(proxy.index(0, 0), Qt.ItemDataRole.DisplayRole)]

    plot = TimeSeriesPlot()
    plot.resize(400, 200)
    plot.set_series(PixelSeries(dates=(date(2018, 1, 6), date(2018, 1, 30)),
                                displacement_mm=np.array([0.0, -3.0]),
                                velocity_mm_yr=-45.6, row=1, col=2))
    seen["plot_title"] = plot.legend_lines()[0]
    seen["plot_painted"] = not plot.grab().isNull()

    help_dialog = HelpDialog("review")
    seen["help_title"] = help_dialog.windowTitle()
    missing = [Missing(REQUIREMENTS[0], "not installed")]
    dialog = DependenciesDialog(missing, check_at_start=False)
    seen["dependencies_commands"] = dialog.commands_text.toPlainText().count("pip install")
    seen["dependencies_painted"] = not dialog.grab().isNull()
    Path(out_path).write_text(json.dumps(seen), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
