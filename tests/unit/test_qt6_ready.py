"""Written for Qt6 as well as Qt5 (CONVENTIONS): Qt only through ``qgis.PyQt``, enums fully
scoped, exec() not exec_(), user-facing strings through tr()."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QT_CODE = [*sorted((REPO / "ui").glob("*.py")), *sorted((REPO / "processing_provider")
                                                        .glob("*.py")),
           REPO / "plugin.py", REPO / "tasks.py", REPO / "settings.py"]
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


def test_widget_texts_go_through_tr():
    bare = re.compile(r"(QLabel|QPushButton|QCheckBox|QAction|setText|setToolTip|"
                      r"setWindowTitle|setPlaceholderText|addTab)\(\s*[\"'][^\"']*[A-Za-z]")
    problems = [f"{path.name}:{number}: {line.strip()}"
                for path in QT_CODE
                for number, line in enumerate(path.read_text().splitlines(), 1)
                if bare.search(line)]
    assert problems == []
