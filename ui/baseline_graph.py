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
from collections.abc import Callable
from datetime import date
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import QSizePolicy, QToolTip, QWidget

from .axis_ticks import month_ticks, value_ticks

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 12, 12, 28
DROPPED = QColor("#6d6d6d")
MANY_EDGES = 150  # above this, kept edges are drawn thinner and lighter
PROPOSED_PEN = QPen(QColor("#ff9800"), 7.0)
CURRENT_PEN = QPen(QColor("#1565c0"), 6.5)
DIAMOND_PEN, DIAMOND_FILL = QPen(QColor("#6a1b9a"), 1.2), QColor("#ce93d8")


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
        #: A pair's tooltip text: a dict by pair index, or a function of the index (computed
        #: only when hovered).
        self.details: dict[int, str] | Callable[[int], str] = {}
        #: Per edge, what its look depends on and its pen: restyled only when its label,
        #: score or repairs change; ``restyled`` counts the edges restyled by the last
        #: :meth:`set_graph`.
        self._styles: dict[int, tuple[Any, QPen]] = {}
        self._order: list[Any] = []  # kept edges first, then dropped ones (drawn on top)
        self.restyled = 0
        self._full_view: tuple[float, float, float, float] | None = None
        self._points: tuple[tuple[Any, int, int], list[QPointF]] | None = None
        self.current: int | None = None
        self.proposed: set[int] = set()  # re-admissions proposed, drawn with an orange halo
        #: Visible window (t0, t1 as date ordinals; b0, b1 in m); None: the whole network.
        self.view: tuple[float, float, float, float] | None = None
        self._drag: tuple[QPointF, tuple[float, float, float, float]] | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_graph(self, graph: Any,
                  details: dict[int, str] | Callable[[int], str] | None = None) -> None:
        """Draw ``graph`` (a :class:`~sbas_selector.core.review.BaselineGraph`). The same
        network with other labels restyles only the edges whose look changed and repaints
        only where they are (unless a date's colour changed too)."""
        previous = self.graph
        same_network = (previous is not None and graph is not None
                        and graph.dates == previous.dates
                        and graph.bperp_m == previous.bperp_m
                        and len(graph.edges) == len(previous.edges))
        if not same_network:
            self.view = None  # another stack: show all of it
            self._styles.clear()
            self._full_view = None
            self._points = None
        self.graph = graph
        if details is not None:
            self.details = details
        changed = self._restyle()
        if (same_network and set(graph.health.isolated_dates)
                == set(previous.health.isolated_dates)):
            for index in changed:
                self._update_edge(index)
        else:
            self.update()

    def _restyle(self) -> list[int]:
        """Style the edges whose label, score or repairs changed; returns their indices."""
        changed = []
        if self.graph is None:
            self._order, self.restyled = [], 0
            return changed
        many = len(self.graph.edges) > MANY_EDGES
        for edge in self.graph.edges:
            key = (edge.label.value, edge.score, edge.repaired, many)
            style = self._styles.get(edge.index)
            if style is None or style[0] != key:
                self._styles[edge.index] = (key, _edge_pen(edge, many))
                changed.append(edge.index)
        self._order = sorted(self.graph.edges, key=lambda e: e.label.value == "low")
        self.restyled = len(changed)
        return changed

    def set_proposed(self, indices: set[int]) -> None:
        indices = set(indices)
        if indices == self.proposed:
            return
        changed = indices ^ self.proposed
        self.proposed = indices
        for index in changed:
            self._update_edge(index)

    def set_current(self, index: int | None) -> None:
        if index == self.current:
            return
        previous, self.current = self.current, index
        for edge in (previous, index):
            self._update_edge(edge)

    def _update_edge(self, index: int | None) -> None:
        """Repaint where edge ``index`` is drawn (its halo and diamond included)."""
        if self.graph is None or index is None or not 0 <= index < len(self.graph.edges):
            return
        edge = self.graph.edges[index]
        a, b = self.node_position(edge.node1), self.node_position(edge.node2)
        self.update(QRectF(a, b).normalized().adjusted(-8, -8, 8, 8).toAlignedRect())

    def resizeEvent(self, event: Any) -> None:
        self._points = None
        super().resizeEvent(event)

    # ---- geometry ------------------------------------------------------------------------
    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(MARGIN_LEFT, MARGIN_TOP, -MARGIN_RIGHT,
                                            -MARGIN_BOTTOM)

    def full_view(self) -> tuple[float, float, float, float]:
        """The window that holds the whole network: (t0, t1) date ordinals, (b0, b1) m."""
        if self._full_view is None:
            self._full_view = self._network_extent()
        return self._full_view

    def _network_extent(self) -> tuple[float, float, float, float]:
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
        """Screen point of date ``node`` (computed once per view and size)."""
        return self._node_points()[node]

    def _node_points(self) -> list[QPointF]:
        key = (self.current_view(), self.width(), self.height())
        if self._points is None or self._points[0] != key:
            graph = self.graph
            self._points = (key, [self.to_screen(d.toordinal(), b)
                                  for d, b in zip(graph.dates, graph.bperp_m)])
        return self._points[1]

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
        points = self._node_points()
        for edge in self.graph.edges:
            a, b = points[edge.node1], points[edge.node2]
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
        QToolTip.showText(self._global_position(event), self.edge_details(index), self)

    def edge_details(self, index: int) -> str:
        """The tooltip of edge ``index``."""
        if callable(self.details):
            return self.details(index)
        return self.details.get(index, self.graph.edges[index].pair_id)

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
        for edge in self._order:
            if edge.index != self.current:
                self._draw_edge(painter, edge, many)
        if self.current is not None and 0 <= self.current < len(graph.edges):
            self._draw_edge(painter, graph.edges[self.current], many)
        isolated = set(graph.health.isolated_dates)
        points = self._node_points()
        for node, day in enumerate(graph.dates):
            position = points[node]
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
        points = self._node_points()
        a, b = points[edge.node1], points[edge.node2]
        if edge.index in self.proposed:
            painter.setPen(PROPOSED_PEN)
            painter.drawLine(a, b)
        if current:
            painter.setPen(CURRENT_PEN)
            painter.drawLine(a, b)
            pen = _edge_pen(edge, many, current=True)
        else:
            style = self._styles.get(edge.index)
            pen = style[1] if style is not None else _edge_pen(edge, many)
        painter.setPen(pen)
        painter.drawLine(a, b)
        if edge.repaired:  # a pair with repaired patches: a small diamond at its middle
            middle = (a + b) / 2
            painter.setPen(DIAMOND_PEN)
            painter.setBrush(DIAMOND_FILL)
            painter.drawPolygon(QPolygonF([middle + QPointF(0, -4), middle + QPointF(4, 0),
                                           middle + QPointF(0, 4), middle + QPointF(-4, 0)]))


def _edge_pen(edge: Any, many: bool, current: bool = False) -> QPen:
    """How an edge is drawn: dropped grey and dashed; kept solid, coloured by its score
    (lighter and thinner in a network of many pairs); wider when current."""
    if edge.label.value == "low":
        pen = QPen(DROPPED, 2.6 if current else 1.3)
        pen.setStyle(Qt.PenStyle.DashLine)
        return pen
    colour = score_colour(edge.score)
    if many and not current:
        colour.setAlpha(150)
    return QPen(colour, 3.2 if current else (1.0 if many else 1.6))
