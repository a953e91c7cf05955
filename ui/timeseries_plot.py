"""A small time-series plot (displacement vs date) drawn with QPainter: no extra dependency."""

from __future__ import annotations

import itertools
import math
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QPainter, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget


class TimeSeriesPlot(QWidget):
    """Draws a :class:`~sbas_selector.core.inversion.outputs.PixelSeries`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: Any = None
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_series(self, series: Any) -> None:
        self.series = series
        self.update()

    def title(self) -> str:
        if self.series is None:
            return self.tr("Click a pixel of the velocity layer to plot its time series")
        return self.tr("pixel row {row}, col {col}: {velocity:.1f} mm/yr").format(
            row=self.series.row, col=self.series.col, velocity=self.series.velocity_mm_yr)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(48, 22, -10, -26)
        painter.drawText(QRectF(self.rect()).adjusted(6, 2, -6, 0),
                         int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft), self.title())
        painter.setPen(QPen(QColor("#888888")))
        painter.drawRect(area)
        series = self.series
        if series is None:
            return
        points = [(d.toordinal(), float(v)) for d, v in zip(series.dates,
                                                            series.displacement_mm)
                  if math.isfinite(float(v))]
        if len(points) < 2:
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), self.tr("no data here"))
            return
        x0, x1 = points[0][0], points[-1][0]
        values = [p[1] for p in points]
        y0, y1 = min(values), max(values)
        if y1 - y0 < 1e-6:
            y0, y1 = y0 - 1, y1 + 1

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(area.left() + (x - x0) / max(x1 - x0, 1) * area.width(),
                           area.bottom() - (y - y0) / (y1 - y0) * area.height())

        painter.drawText(QRectF(0, area.top() - 6, 46, 14), int(Qt.AlignmentFlag.AlignRight),
                         f"{y1:.0f}")
        painter.drawText(QRectF(0, area.bottom() - 8, 46, 14),
                         int(Qt.AlignmentFlag.AlignRight), f"{y0:.0f}")
        painter.drawText(QRectF(area.left(), area.bottom() + 4, 120, 16),
                         int(Qt.AlignmentFlag.AlignLeft), series.dates[0].isoformat())
        painter.drawText(QRectF(area.right() - 120, area.bottom() + 4, 120, 16),
                         int(Qt.AlignmentFlag.AlignRight), series.dates[-1].isoformat())
        painter.drawText(QRectF(2, area.center().y() - 8, 44, 16),
                         int(Qt.AlignmentFlag.AlignRight), "mm")
        painter.setPen(QPen(QColor("#2166ac"), 1.5))
        screen = [to_screen(x, y) for x, y in points]
        for a, b in itertools.pairwise(screen):
            painter.drawLine(a, b)
        painter.setBrush(QColor("#2166ac"))
        for point in screen:
            painter.drawEllipse(point, 2.5, 2.5)
