"""The pair table: one row per pair, sortable and filterable (a Qt model over core data)."""

from __future__ import annotations

import math
from typing import Any

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

COLUMNS = ("Pair", "Days", "Bperp (m)", "Coherence", "Coverage", "Loops bad/all", "Score",
           "Label", "Source", "Evidence")
#: The order the view shows the columns in: what decides first, the measurements after.
VISUAL_ORDER = ("Pair", "Label", "Score", "Source", "Days", "Bperp (m)", "Coherence",
                "Coverage", "Loops bad/all", "Evidence")
DECIMALS = {"Bperp (m)": 1}  # as the value is rounded; other numbers: 2
LOW_COLOUR, HIGH_COLOUR = QColor("#b71c1c"), QColor("#1b5e20")
#: Rows measured when the columns are fitted to their contents: enough for the widths, and
#: a frame of 400+ pairs is not measured cell by cell.
FIT_ROWS = 200


def pair_details(stack: Any, store: Any, statistics: Any, index: int) -> str:
    """Everything known of pair ``index``, in words (the graph's and the table's tooltip)."""
    pair = stack.pairs[index]
    lines = [f"{pair.pair_id}: {pair.date1.isoformat()} – {pair.date2.isoformat()} "
             f"({pair.days} days), Bperp {pair.bperp_m:.1f} m"]
    if statistics is not None:
        lines.append(f"coherence {float(statistics.mean_coherence[index]):.2f}, coverage "
                     f"{float(statistics.coverage[index]):.2f}, loops misclosed "
                     f"{int(statistics.closure.misclosed[index])} of "
                     f"{int(statistics.closure.triplets[index])}")
    if store is not None:
        entry = store.labels[pair.pair_id]
        score = "—" if entry.probability_high is None else f"{entry.probability_high:.2f}"
        lines.append(f"score {score}, label {entry.final.value} ({entry.source.value})")
        if entry.repair_text:
            lines.append(f"closure: {entry.repair_text}")
        if entry.evidence:
            lines.append(f"network: {entry.evidence}")
    return "\n".join(lines)


class PairTableModel(QAbstractTableModel):
    """Rows from the stack, its statistics and the labels store.

    Each row's values and texts are computed once and kept: sorting, filtering, sizing the
    columns and painting read them without going back to the store (at 400 pairs Qt asks
    for tens of thousands of cells). :meth:`refresh` recomputes the rows a change touched
    and tells the views about those rows only.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.stack: Any = None
        self.store: Any = None
        self.statistics: Any = None
        self._values: list[tuple[Any, ...]] = []  # per row, the sortable value per column
        self._texts: list[tuple[str, ...]] = []  # per row, the text shown per column
        self._folded: list[tuple[str, ...]] = []  # the texts in lower case, for the filter

    def set_data(self, stack: Any, store: Any, statistics: Any) -> None:
        self.beginResetModel()
        self.stack, self.store, self.statistics = stack, store, statistics
        self._values, self._texts, self._folded = [], [], []
        if stack is not None:
            for row in range(stack.n_pairs):
                self._cache_row(row, append=True)
        self.endResetModel()

    def _cache_row(self, row: int, append: bool = False) -> bool:
        """Compute row ``row``'s values and texts; returns whether they changed."""
        values = tuple(self._compute(row, column) for column in range(len(COLUMNS)))
        texts = tuple(_text(value, column) for column, value in enumerate(values))
        if append:
            self._values.append(values)
            self._texts.append(texts)
            self._folded.append(tuple(t.lower() for t in texts))
            return True
        if values == self._values[row] and texts == self._texts[row]:
            return False
        self._values[row], self._texts[row] = values, texts
        self._folded[row] = tuple(t.lower() for t in texts)
        return True

    def refresh(self, rows: Any = None) -> list[int]:
        """The labels changed: recompute ``rows`` (every row when None) and emit
        ``dataChanged`` for each row whose cells changed, or once for the whole table when
        all rows were asked for. Returns the rows that changed."""
        if self.stack is None:
            return []
        every = rows is None
        rows = range(self.rowCount()) if every else sorted(set(rows))
        changed = [row for row in rows if self._cache_row(row)]
        last = len(COLUMNS) - 1
        if every and changed:
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], last))
        else:
            for row in changed:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        return changed

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if self.stack is None or parent.isValid() else len(self._values)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def value(self, row: int, column: int) -> Any:
        """The sortable value of a cell."""
        return self._values[row][column]

    def accepts(self, row: int, needle: str) -> bool:
        """Whether a cell of ``row`` shows ``needle`` (lower case)."""
        return any(needle in text for text in self._folded[row])

    def _compute(self, row: int, column: int) -> Any:
        pair = self.stack.pairs[row]
        entry = self.store.labels[pair.pair_id] if self.store is not None else None
        stats = self.statistics
        if column == 0:
            return pair.pair_id
        if column == 1:
            return pair.days
        if column == 2:
            return round(pair.bperp_m, 1)
        if column == 3:
            return None if stats is None else float(stats.mean_coherence[row])
        if column == 4:
            return None if stats is None else float(stats.coverage[row])
        if column == 5:
            if stats is None:
                return None
            return f"{int(stats.closure.misclosed[row])}/{int(stats.closure.triplets[row])}"
        if column == 6:
            return None if entry is None else entry.probability_high
        if column == 7:
            return None if entry is None else entry.final.value
        if column == 8:
            return None if entry is None else entry.source.value
        if column == 9:  # the closure check's repairs first, then the network's evidence
            return None if entry is None else entry.description
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.stack is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return pair_details(self.stack, self.store, self.statistics, index.row())
        if role == Qt.ItemDataRole.UserRole:
            return self._values[index.row()][index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 7:
            value = self._values[index.row()][7]
            return LOW_COLOUR if value == "low" else HIGH_COLOUR
        return None


def _text(value: Any, column: int) -> str:
    """A cell's text: numbers rounded, unknowns empty."""
    if isinstance(value, float):
        decimals = DECIMALS.get(COLUMNS[column], 2)
        return "" if math.isnan(value) else f"{value:.{decimals}f}"
    return "" if value is None else str(value)


class PairFilterProxy(QSortFilterProxyModel):
    """Sorts by the cells' values (numbers as numbers) and keeps the rows where a cell shows
    the filter text (any column, any case), both from the model's kept rows."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(Qt.ItemDataRole.UserRole)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_text = ""

    def set_filter_text(self, text: str) -> None:
        """Show only the rows where a cell contains ``text`` (case-insensitive)."""
        self.filter_text = text.lower()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model = self.sourceModel()
        if not self.filter_text or not isinstance(model, PairTableModel):
            return True
        return model.accepts(source_row, self.filter_text)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        model = self.sourceModel()
        if isinstance(model, PairTableModel):
            a = model.value(left.row(), left.column())
            b = model.value(right.row(), right.column())
        else:
            a, b = left.data(Qt.ItemDataRole.UserRole), right.data(Qt.ItemDataRole.UserRole)
        if a is None:
            return b is not None
        if b is None:
            return False
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class PairTableView(QTableView):
    """The pair table: the deciding columns first, one row selected at a time, and a
    right-click on the header to choose the columns shown (remembered)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        # Sizing columns to their contents measures at most FIT_ROWS rows, not every pair.
        self.verticalHeader().setResizeContentsPrecision(FIT_ROWS)
        self.horizontalHeader().setResizeContentsPrecision(FIT_ROWS)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        header = self.horizontalHeader()
        for position, name in enumerate(VISUAL_ORDER):
            header.moveSection(header.visualIndex(COLUMNS.index(name)), position)
        self.apply_hidden_columns()
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    def apply_hidden_columns(self) -> None:
        from .. import settings

        hidden = set(settings.hidden_pair_columns())
        for column, name in enumerate(COLUMNS):
            self.setColumnHidden(column, name in hidden)

    def fit_columns(self) -> None:
        """Columns as wide as their contents, the evidence (long) elided to what is left;
        its full text is in the tooltip."""
        header = self.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self.resizeColumnsToContents()
        evidence = COLUMNS.index("Evidence")
        self.setColumnWidth(evidence, min(self.columnWidth(evidence), 160))

    def _column_menu(self, position: Any) -> None:
        menu = self.column_menu()
        menu.exec(self.horizontalHeader().mapToGlobal(position))

    def column_menu(self) -> QMenu:
        """A menu of every column, checked when shown; toggling one shows or hides it."""

        menu = QMenu(self)
        for column, name in enumerate(COLUMNS):
            if name == "Pair":
                continue
            action = menu.addAction(self.tr(name))
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.toggled.connect(lambda shown, n=name: self.set_column_shown(n, shown))
        return menu

    def set_column_shown(self, name: str, shown: bool) -> None:
        from .. import settings

        hidden = [n for n in settings.hidden_pair_columns() if n != name]
        if not shown:
            hidden.append(name)
        settings.set_hidden_pair_columns(hidden)
        self.apply_hidden_columns()
