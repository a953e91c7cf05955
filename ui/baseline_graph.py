"""The baseline graph: acquisition time (x) vs perpendicular baseline (y), one edge per pair.

Two separate visual channels: the model's score is the edge colour (red low .. green high,
grey before classification); the decision is the line style (solid kept, dashed dropped).
The widget only draws a :class:`~sbas_selector.core.review.BaselineGraph`.
"""

from __future__ import annotations

import math
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QMouseEvent, QPainter, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QToolTip, QWidget

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 12, 12, 28


# Where a mouse event happened in the widget: position() on Qt6, localPos() on Qt5 (Qt6 dropped
# localPos() and globalPos()).
_POSITION = "position" if hasattr(QMouseEvent, "position") else "localPos"


def _local_point(event: Any) -> QPointF:
    return QPointF(getattr(event, _POSITION)())


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
        self.setMouseTracking(True)
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_graph(self, graph: Any, details: dict[int, str] | None = None) -> None:
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

    def node_position(self, node: int) -> QPointF:
        graph, area = self.graph, self._area()
        t = [d.toordinal() for d in graph.dates]
        b = graph.bperp_m
        t0, t1 = min(t), max(t)
        b0, b1 = min(b), max(b)
        if b1 - b0 < 1e-6:
            b0, b1 = b0 - 1, b1 + 1
        pad = 0.06 * (b1 - b0)
        x = area.left() + (t[node] - t0) / max(t1 - t0, 1) * area.width()
        y = area.bottom() - (b[node] - b0 + pad) / (b1 - b0 + 2 * pad) * area.height()
        return QPointF(x, y)

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
    def mousePressEvent(self, event: Any) -> None:
        index = self.edge_at(_local_point(event))
        if index is not None:
            self.pair_clicked.emit(index)

    def mouseMoveEvent(self, event: Any) -> None:
        point = _local_point(event)
        index = self.edge_at(point)
        if index is None:
            QToolTip.hideText()
            return
        QToolTip.showText(self.mapToGlobal(point.toPoint()), self.details.get(index,
                                                                self.graph.edges[index].pair_id),
                          self)

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
        painter.setPen(QPen(QColor("#555555")))
        painter.drawText(QRectF(area.left(), area.bottom() + 4, 120, 16),
                         int(Qt.AlignmentFlag.AlignLeft), graph.dates[0].isoformat())
        painter.drawText(QRectF(area.right() - 120, area.bottom() + 4, 120, 16),
                         int(Qt.AlignmentFlag.AlignRight), graph.dates[-1].isoformat())
        painter.drawText(QRectF(0, area.top(), MARGIN_LEFT - 4, 16),
                         int(Qt.AlignmentFlag.AlignRight), f"{max(graph.bperp_m):.0f} m")
        painter.drawText(QRectF(0, area.bottom() - 14, MARGIN_LEFT - 4, 16),
                         int(Qt.AlignmentFlag.AlignRight), f"{min(graph.bperp_m):.0f} m")
        for edge in graph.edges:  # dropped first, kept on top
            if edge.label.value == "low":
                self._draw_edge(painter, edge)
        for edge in graph.edges:
            if edge.label.value != "low":
                self._draw_edge(painter, edge)
        isolated = set(graph.health.isolated_dates)
        for node, day in enumerate(graph.dates):
            position = self.node_position(node)
            painter.setPen(QPen(QColor("#000000"), 1))
            painter.setBrush(QColor("#d7301f") if day in isolated else QColor("#1f1f1f"))
            painter.drawEllipse(position, 3.5, 3.5)

    def _draw_edge(self, painter: QPainter, edge: Any) -> None:
        pen = QPen(score_colour(edge.score), 3.2 if edge.index == self.current else 1.6)
        if edge.label.value == "low":
            pen.setStyle(Qt.PenStyle.DashLine)
        if edge.index in self.proposed:
            painter.setPen(QPen(QColor("#ff9800"), 7.0))
            painter.drawLine(self.node_position(edge.node1), self.node_position(edge.node2))
        if edge.index == self.current:
            halo = QPen(QColor("#1565c0"), 6.5)
            painter.setPen(halo)
            painter.drawLine(self.node_position(edge.node1), self.node_position(edge.node2))
        painter.setPen(pen)
        painter.drawLine(self.node_position(edge.node1), self.node_position(edge.node2))
