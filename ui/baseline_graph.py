"""The baseline graph: acquisition time (x) vs perpendicular baseline (y), one edge per pair.

Kept pairs are solid lines coloured by the model's score (red low .. green high, grey before
classification); dropped pairs are grey dashed lines drawn on top of them, so that a drop is
never hidden; a pair whose unwrapping errors are repaired carries a small purple diamond.
Date and baseline ticks with a light grid; the mouse wheel zooms (Shift: the
baseline axis only), a drag pans, a double click shows the whole network again.
The widget only draws a :class:`~sbas_selector.core.review.BaselineGraph`.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import QSizePolicy, QToolTip, QWidget

from .axis_ticks import month_ticks, value_ticks

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 12, 12, 28
DROPPED = QColor("#6d6d6d")
MANY_EDGES = 150  # above this, kept edges are drawn thinner and lighter


def score_colour(score: float | None) -> QColor:
    """Red (0) through yellow (0.5) to green (1); grey when unknown."""
    if score is None or not math.isfinite(score):
        return QColor("#8c8c8c")
    score = min(max(score, 0.0), 1.0)
    if score < 0.5:
        return QColor.fromRgbF(0.84, 0.19 + 1.2 * score, 0.15)
    return QColor.fromRgbF(0.84 - 1.4 * (score - 0.5), 0.79 - 0.2 * (score - 0.5), 0.15)


class BaselineGraphWidget(QWidget):
    """Draws the graph; emits ``pair_clicked(index)`` when an edge is clicked."""

    pair_clicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph: Any = None
        self.details: dict[int, str] = {}
        self.current: int | None = None
        self.proposed: set[int] = set()  # re-admissions proposed, drawn with an orange halo
        #: Visible window (t0, t1 as date ordinals; b0, b1 in m); None: the whole network.
        self.view: tuple[float, float, float, float] | None = None
        self._drag: tuple[QPointF, tuple[float, float, float, float]] | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_graph(self, graph: Any, details: dict[int, str] | None = None) -> None:
        if self.graph is None or graph is None or graph.dates != self.graph.dates:
            self.view = None  # another stack: show all of it
        self.graph = graph
        if details is not None:
            self.details = details
        self.update()

    def set_proposed(self, indices: set[int]) -> None:
        self.proposed = set(indices)
        self.update()

    def set_current(self, index: int | None) -> None:
        self.current = index
        self.update()

    # ---- geometry ------------------------------------------------------------------------
    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(MARGIN_LEFT, MARGIN_TOP, -MARGIN_RIGHT,
                                            -MARGIN_BOTTOM)

    def full_view(self) -> tuple[float, float, float, float]:
        """The window that holds the whole network: (t0, t1) date ordinals, (b0, b1) m."""
        t = [d.toordinal() for d in self.graph.dates]
        b = self.graph.bperp_m
        b0, b1 = min(b), max(b)
        if b1 - b0 < 1e-6:
            b0, b1 = b0 - 1, b1 + 1
        pad = 0.06 * (b1 - b0)
        t0, t1 = min(t), max(t)
        return float(t0), float(max(t1, t0 + 1)), b0 - pad, b1 + pad

    def current_view(self) -> tuple[float, float, float, float]:
        return self.view or self.full_view()

    def to_screen(self, t: float, b: float) -> QPointF:
        """Screen point of a date ordinal ``t`` and a baseline ``b`` (m)."""
        area = self._area()
        t0, t1, b0, b1 = self.current_view()
        return QPointF(area.left() + (t - t0) / (t1 - t0) * area.width(),
                       area.bottom() - (b - b0) / (b1 - b0) * area.height())

    def from_screen(self, point: QPointF) -> tuple[float, float]:
        area = self._area()
        t0, t1, b0, b1 = self.current_view()
        return (t0 + (point.x() - area.left()) / max(area.width(), 1) * (t1 - t0),
                b0 + (area.bottom() - point.y()) / max(area.height(), 1) * (b1 - b0))

    def node_position(self, node: int) -> QPointF:
        graph = self.graph
        return self.to_screen(graph.dates[node].toordinal(), graph.bperp_m[node])

    def zoom(self, factor: float, around: QPointF, time_only: bool = False,
             baseline_only: bool = False) -> None:
        """Zoom by ``factor`` (>1 in) about a screen point; never out beyond the network."""
        if self.graph is None:
            return
        t0, t1, b0, b1 = self.current_view()
        ft0, ft1, fb0, fb1 = self.full_view()
        t, b = self.from_screen(around)
        if not baseline_only:
            width = min((t1 - t0) / factor, ft1 - ft0)
            t0 = t - (t - t0) / (t1 - t0) * width
            t0 = min(max(t0, ft0), ft1 - width)
            t1 = t0 + max(width, 2.0)
        if not time_only:
            height = min((b1 - b0) / factor, fb1 - fb0)
            b0 = b - (b - b0) / (b1 - b0) * height
            b0 = min(max(b0, fb0), fb1 - height)
            b1 = b0 + max(height, 1e-3)
        self.view = (t0, t1, b0, b1)
        self.update()

    def reset_view(self) -> None:
        self.view = None
        self.update()

    def edge_midpoint(self, index: int) -> QPointF:
        edge = self.graph.edges[index]
        a, b = self.node_position(edge.node1), self.node_position(edge.node2)
        return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)

    def edge_at(self, point: QPointF, tolerance: float = 6.0) -> int | None:
        """The edge nearest ``point`` within ``tolerance`` pixels."""
        if self.graph is None:
            return None
        best, best_distance = None, tolerance
        for edge in self.graph.edges:
            a, b = self.node_position(edge.node1), self.node_position(edge.node2)
            dx, dy = b.x() - a.x(), b.y() - a.y()
            length2 = dx * dx + dy * dy or 1e-9
            t = max(0.0, min(1.0, ((point.x() - a.x()) * dx + (point.y() - a.y()) * dy)
                             / length2))
            distance = math.hypot(point.x() - a.x() - t * dx, point.y() - a.y() - t * dy)
            if distance <= best_distance:
                best, best_distance = edge.index, distance
        return best

    # ---- events --------------------------------------------------------------------------
    @staticmethod
    def _position(event: Any) -> QPointF:
        """The event's position (Qt6's ``position()``, Qt5's ``pos()``)."""
        if hasattr(event, "position"):
            return QPointF(event.position())
        return QPointF(event.pos())

    @staticmethod
    def _global_position(event: Any) -> Any:
        if hasattr(event, "globalPosition"):
            return event.globalPosition().toPoint()
        return event.globalPos()

    def mousePressEvent(self, event: Any) -> None:
        position = self._position(event)
        self._drag = (position, self.current_view())
        index = self.edge_at(position)
        if index is not None:
            self.pair_clicked.emit(index)

    def mouseReleaseEvent(self, event: Any) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self.reset_view()

    def wheelEvent(self, event: Any) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.zoom(1.25 ** steps, self._position(event), time_only=not shift,
                      baseline_only=shift)
        event.accept()

    def mouseMoveEvent(self, event: Any) -> None:
        position = self._position(event)
        if self._drag is not None and event.buttons() & Qt.MouseButton.LeftButton:
            start, (t0, t1, b0, b1) = self._drag
            area = self._area()
            dt = (position.x() - start.x()) / max(area.width(), 1) * (t1 - t0)
            db = (position.y() - start.y()) / max(area.height(), 1) * (b1 - b0)
            if abs(position.x() - start.x()) + abs(position.y() - start.y()) > 3:
                self.view = (t0 - dt, t1 - dt, b0 + db, b1 + db)
                self.update()
            return
        index = self.edge_at(position)
        if index is None:
            QToolTip.hideText()
            return
        QToolTip.showText(self._global_position(event),
                          self.details.get(index, self.graph.edges[index].pair_id), self)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        area = self._area()
        painter.setPen(QPen(QColor("#b0b0b0")))
        painter.drawRect(area)
        if self.graph is None or not self.graph.dates:
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), self.tr("No stack open"))
            return
        graph = self.graph
        self._draw_axes(painter, area)
        painter.save()
        painter.setClipRect(area.adjusted(-4, -4, 4, 4))
        many = len(graph.edges) > MANY_EDGES
        # Kept first, dropped (grey, dashed) on top of them, the current pair above all.
        for edge in sorted(graph.edges, key=lambda e: (e.index == self.current,
                                                       e.label.value == "low")):
            self._draw_edge(painter, edge, many)
        isolated = set(graph.health.isolated_dates)
        for node, day in enumerate(graph.dates):
            position = self.node_position(node)
            painter.setPen(QPen(QColor("#000000"), 1))
            painter.setBrush(QColor("#d7301f") if day in isolated else QColor("#1f1f1f"))
            painter.drawEllipse(position, 3.5, 3.5)
        painter.restore()

    def _draw_axes(self, painter: QPainter, area: QRectF) -> None:
        """Month ticks along time and round baselines, with a light grid."""
        t0, t1, b0, b1 = self.current_view()
        grid_pen, text_pen = QPen(QColor("#ececec")), QPen(QColor("#555555"))
        first, last = date.fromordinal(math.ceil(t0)), date.fromordinal(int(t1))
        max_ticks = max(2, int(area.width() // 70))
        for tick in month_ticks(first, last, max_ticks):
            x = self.to_screen(tick.toordinal(), b0).x()
            painter.setPen(grid_pen)
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
            painter.setPen(text_pen)
            painter.drawText(QRectF(x - 35, area.bottom() + 4, 70, 16),
                             int(Qt.AlignmentFlag.AlignHCenter), tick.strftime("%Y-%m"))
        for value in value_ticks(b0, b1, max(2, int(area.height() // 30))):
            y = self.to_screen(t0, value).y()
            painter.setPen(grid_pen)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text_pen)
            painter.drawText(QRectF(0, y - 8, MARGIN_LEFT - 4, 16),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             f"{value:g} m")

    def _draw_edge(self, painter: QPainter, edge: Any, many: bool = False) -> None:
        current = edge.index == self.current
        dropped = edge.label.value == "low"
        a, b = self.node_position(edge.node1), self.node_position(edge.node2)
        if edge.index in self.proposed:
            painter.setPen(QPen(QColor("#ff9800"), 7.0))
            painter.drawLine(a, b)
        if current:
            painter.setPen(QPen(QColor("#1565c0"), 6.5))
            painter.drawLine(a, b)
        if dropped:
            pen = QPen(DROPPED, 2.6 if current else 1.3)
            pen.setStyle(Qt.PenStyle.DashLine)
        else:
            colour = score_colour(edge.score)
            if many and not current:
                colour.setAlpha(150)
            pen = QPen(colour, 3.2 if current else (1.0 if many else 1.6))
        painter.setPen(pen)
        painter.drawLine(a, b)
        if edge.repaired:  # a pair with repaired patches: a small diamond at its middle
            middle = (a + b) / 2
            painter.setPen(QPen(QColor("#6a1b9a"), 1.2))
            painter.setBrush(QColor("#ce93d8"))
            painter.drawPolygon(QPolygonF([middle + QPointF(0, -4), middle + QPointF(4, 0),
                                           middle + QPointF(0, 4), middle + QPointF(-4, 0)]))
