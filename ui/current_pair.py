"""The one current pair of the dock: the table, the graph, the map and the keys all follow it."""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, pyqtSignal


class CurrentPair(QObject):
    """Holds the index of the current pair; ``changed(index)`` tells every view to follow.

    Keys (K, D, C) act on this pair and on no other: a view never keeps a highlight of its
    own.
    """

    changed = pyqtSignal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index: int | None = None

    def set(self, index: int | None, *, force: bool = False) -> None:
        """Make ``index`` current (None: no pair); views are told when it changes, or always
        with ``force`` (after the labels changed, say)."""
        if index == self.index and not force:
            return
        self.index = index
        if index is not None:
            self.changed.emit(index)
