"""Written for Qt6 as well as Qt5 (CONVENTIONS): Qt only through ``qgis.PyQt``, enums fully
scoped, exec() not exec_(), user-facing strings through tr()."""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404: runs this test's own helper scripts
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QT_CODE = [*sorted((REPO / "ui").glob("*.py")), *sorted((REPO / "processing_provider")
                                                        .glob("*.py")),
           REPO / "plugin.py", REPO / "tasks.py", REPO / "settings.py", REPO / "qgis_compat.py"]
# Qt5 short forms that Qt6 removed: Qt.AlignLeft, QMessageBox.Yes, QSizePolicy.Expanding...
SHORT_ENUM = re.compile(r"\b(Qt|QMessageBox|QSizePolicy|QAbstractItemView|QHeaderView|QDialog"
                        r"|QDialogButtonBox|QProcess|QItemSelectionModel|QEvent|QFrame"
                        r"|QPainter|QFont)\.([A-Z][A-Za-z0-9]*)\b(?!\.|\()")
SCOPES = {"Orientation", "ItemDataRole", "AlignmentFlag", "MouseButton", "KeyboardModifier",
          "Key", "DockWidgetArea", "ItemFlag", "SortOrder", "PenStyle", "CursorShape",
          "StandardButton", "ButtonRole", "Policy", "SelectionBehavior", "SelectionMode",
          "ResizeMode", "ProcessChannelMode", "ProcessError", "ExitStatus", "SelectionFlag",
          "Type", "RenderHint", "Shape", "Weight", "DialogCode", "CaseSensitivity",
          "GlobalColor", "EditTrigger", "ScrollHint", "TextFormat", "WindowType",
          "ContextMenuPolicy", "FocusPolicy", "CheckState", "TextInteractionFlag",
          "MatchFlag", "TransformationMode", "AspectRatioMode", "BrushStyle", "PenCapStyle"}


def test_qt_only_through_qgis_pyqt_and_enums_scoped():
    problems = []
    for path in QT_CODE:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"^\s*(from|import) PyQt[56]", line):
                problems.append(f"{path.name}:{number}: import through qgis.PyQt")
            if ".exec_(" in line:
                problems.append(f"{path.name}:{number}: exec_() is gone in Qt6")
            for match in SHORT_ENUM.finditer(line):
                if match.group(2) not in SCOPES and not line.lstrip().startswith(("from",
                                                                                  "#")):
                    problems.append(f"{path.name}:{number}: {match.group(0)} (scope it)")
    assert problems == []


def test_no_qgis_name_deprecated_where_322_has_its_successor():
    """Enums QGIS 3.36-3.40 moved into Qgis (QGIS 4 drops the old aliases) go through
    qgis_compat, which picks the successor where QGIS has it."""
    deprecated = re.compile(r"QgsProcessingParameterNumber\.(Double|Integer)\b"
                            r"|QgsRasterBandStats\.(Min|Max|Mean|StdDev|Sum|Range|All)\b"
                            r"|QgsColorRampShader\.(Interpolated|Discrete|Exact)\b"
                            r"|QgsContrastEnhancement\.(StretchToMinimumMaximum|NoEnhancement)\b"
                            r"|resources_rc")
    problems = [f"{path.name}:{number}: {line.strip()}"
                for path in QT_CODE if path.name != "qgis_compat.py"
                for number, line in enumerate(path.read_text().splitlines(), 1)
                if deprecated.search(line)]
    assert problems == []


def test_widget_texts_go_through_tr():
    bare = re.compile(r"(QLabel|QPushButton|QCheckBox|QAction|setText|setToolTip|"
                      r"setWindowTitle|setPlaceholderText|addTab)\(\s*[\"'][^\"']*[A-Za-z]")
    problems = [f"{path.name}:{number}: {line.strip()}"
                for path in QT_CODE
                for number, line in enumerate(path.read_text().splitlines(), 1)
                if bare.search(line)]
    assert problems == []


# ---- PyQt6 (QGIS 4): by introspection, and the QGIS-free widgets run under it ---------------
HERE = Path(__file__).resolve().parent


def _run_pyqt6(*arguments: str) -> subprocess.CompletedProcess:
    """A fresh Python (PyQt6 only: PyQt5 and PyQt6 do not share a process)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True,
                          env=env, timeout=180, check=False)


def test_every_qt_name_the_plugin_uses_exists_in_pyqt6():
    result = _run_pyqt6(str(HERE / "qt6_names.py"), *map(str, QT_CODE))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_pyqt6_name_check_finds_what_qt6_removed(tmp_path):
    """The check itself: Qt5-only names in each place it looks are reported."""
    sample = tmp_path / "qt5_only.py"
    sample.write_text(
        "from qgis.PyQt.QtCore import Qt, QPointF\n"
        "from qgis.PyQt.QtGui import QPainter\n"
        "from qgis.PyQt.QtWidgets import QWidget, QAction, QDesktopWidget\n"
        "try:\n"
        "    from qgis.PyQt.QtGui import QShortcut\n"
        "except ImportError:\n"
        "    from qgis.PyQt.QtWidgets import QShortcut, QNotInQt6\n"
        "class Graph(QWidget):\n"
        "    def mouseMoveEvent(self, event):\n"
        "        return event.globalPos(), self.own, Qt.AlignLeft\n"
        "    def paint(self, painter: QPainter):\n"
        "        point = QPointF(1, 2)\n"
        "        painter.drawRoundRect(0, 0, 1, 1)\n"
        "        return point.manhattanLength(), point.nope(), self.own, self.exec_()\n"
        "    def setup(self):\n"
        "        self.own = QAction('x')\n")
    result = _run_pyqt6(str(HERE / "qt6_names.py"), str(sample))
    found = {line.split(": ", 1)[1] for line in json.loads(result.stdout)}
    assert found == {"QtWidgets.QDesktopWidget is not in PyQt6",
                     "QtWidgets.QAction is not in PyQt6",  # moved to QtGui
                     "QMouseEvent.globalPos is not in PyQt6", "Qt.AlignLeft is not in PyQt6",
                     "QPainter.drawRoundRect is not in PyQt6", "QPointF.nope is not in PyQt6",
                     "QWidget.exec_ is not in PyQt6"}


def test_qgis_free_widgets_work_offscreen_under_pyqt6(tmp_path, real_stack_path):
    out = tmp_path / "seen.json"
    result = _run_pyqt6(str(HERE / "qt6_widgets.py"), str(real_stack_path), str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(out.read_text())
    assert seen["qt"].startswith("6.") and seen["platform"] == "offscreen"
    # the first edge hovered (tooltip) and clicked: the click selects that pair
    assert seen["graph_edge_at_midpoint"] == 0 and seen["graph_clicked"] == [0]
    assert seen["table"] == [30, seen["table"][1], "20180106_20180130"]
    assert seen["plot_title"].startswith("row 1, col 2: -45.6 mm/yr")
    assert seen["graph_painted"] and seen["plot_painted"] and seen["dependencies_painted"]
    assert seen["dependencies_commands"] == 3  # Linux, Windows, macOS


def test_metadata_admits_qgis_4():
    metadata = (REPO / "metadata.txt").read_text()
    assert "qgisMaximumVersion=4.99" in metadata.splitlines()
    assert "supportsQt6=True" in metadata.splitlines()
