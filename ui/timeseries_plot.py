"""The time-series plot (displacement vs date), drawn with QPainter (no extra dependency): date
ticks and a grid, a fitted line with its 1-sigma band, the pixel's coordinates, and a second
pixel to compare."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

from ..core.inversion.series_fit import LineFit, fit_line
from .axis_ticks import month_ticks, value_ticks

COLOURS = ("#2166ac", "#d95f02")  # first pixel, second pixel


@dataclass(frozen=True)
class PlottedSeries:
    """One pixel's series as plotted: the series, where it is (in words) and its fitted line."""

    series: Any
    where: str
    fit: LineFit | None


class TimeSeriesPlot(QWidget):
    """Draws up to two :class:`~sbas_selector.core.inversion.outputs.PixelSeries`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plotted: list[PlottedSeries] = []
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    @property
    def series(self) -> Any:
        """The first pixel's series (None when nothing is plotted)."""
        return self.plotted[0].series if self.plotted else None

    def set_series(self, series: Any, where: str = "", compare: bool = False) -> None:
        """Plot ``series`` (described by ``where``); with ``compare`` beside the first pixel,
        else alone."""
        entry = PlottedSeries(series, where, fit_line(series.dates, series.displacement_mm))
        self.plotted = [self.plotted[0], entry] if compare and self.plotted else [entry]
        self._update_tooltip()
        self.update()

    def clear(self) -> None:
        self.plotted = []
        self._update_tooltip()
        self.update()

    def legend_lines(self) -> list[str]:
        """One line per pixel: where it is, the velocity of the inversion and the fitted
        line's, with its standard error."""
        if not self.plotted:
            return [self.tr("Click a pixel of the velocity layer to plot its time series")]
        lines = []
        for entry in self.plotted:
            text = self.tr("{where}: {velocity:.1f} mm/yr").format(
                where=entry.where or self.tr("row {row}, col {col}").format(
                    row=entry.series.row, col=entry.series.col),
                velocity=entry.series.velocity_mm_yr)
            if entry.fit is not None and math.isfinite(entry.fit.velocity_std_mm_yr):
                text += self.tr(" (line {v:.1f} ± {s:.1f})").format(
                    v=entry.fit.velocity_mm_yr, s=entry.fit.velocity_std_mm_yr)
            lines.append(text)
        return lines

    def _update_tooltip(self) -> None:
        lines = [
            self.tr("{where}: line {v:.1f} ± {s:.1f} mm/yr (1 sigma), residual RMS {r:.1f} mm "
                    "about it; the band is the line's 1-sigma uncertainty").format(
                where=entry.where, v=entry.fit.velocity_mm_yr, s=entry.fit.velocity_std_mm_yr,
                r=entry.fit.residual_rms_mm)
            for entry in self.plotted if entry.fit is not None]
        tooltip = "\n".join(lines)
        self.setToolTip(tooltip)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        lines = self.legend_lines()
        top = 6 + 15 * len(lines)
        for k, text in enumerate(lines):
            painter.setPen(QPen(QColor(COLOURS[k] if self.plotted else "#333333")))
            painter.drawText(QRectF(6, 3 + 15 * k, self.width() - 12, 15),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             text)
        area = QRectF(self.rect()).adjusted(52, top + 4, -10, -24)
        painter.setPen(QPen(QColor("#888888")))
        painter.drawRect(area)
        if not self.plotted:
            return
        dates = [d for entry in self.plotted for d in entry.series.dates]
        values = [float(v) for entry in self.plotted for v in entry.series.displacement_mm
                  if math.isfinite(float(v))]
        for entry in self.plotted:
            if entry.fit is not None:
                for day in (entry.series.dates[0], entry.series.dates[-1]):
                    band = entry.fit.std(day)
                    values += [entry.fit.value(day) + s * (band if math.isfinite(band) else 0)
                               for s in (-1, 1)]
        if len(values) < 2:
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), self.tr("no data here"))
            return
        first, last = min(dates), max(dates)
        x0, x1 = first.toordinal(), max(last.toordinal(), first.toordinal() + 1)
        y0, y1 = min(values), max(values)
        pad = max(0.05 * (y1 - y0), 0.5)
        y0, y1 = y0 - pad, y1 + pad

        def to_screen(day: date, value: float) -> QPointF:
            return QPointF(area.left() + (day.toordinal() - x0) / (x1 - x0) * area.width(),
                           area.bottom() - (value - y0) / (y1 - y0) * area.height())

        grid_pen = QPen(QColor("#e0e0e0"))
        text_pen = QPen(QColor("#555555"))
        for tick in month_ticks(first, last):
            x = to_screen(tick, y0).x()
            painter.setPen(grid_pen)
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
            painter.setPen(text_pen)
            painter.drawText(QRectF(x - 40, area.bottom() + 3, 80, 16),
                             int(Qt.AlignmentFlag.AlignHCenter), tick.strftime("%Y-%m"))
        for value in value_ticks(y0, y1):
            y = to_screen(first, value).y()
            painter.setPen(grid_pen if abs(value) > 1e-9 else QPen(QColor("#9e9e9e")))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text_pen)
            painter.drawText(QRectF(0, y - 8, 48, 16), int(Qt.AlignmentFlag.AlignRight
                                                            | Qt.AlignmentFlag.AlignVCenter),
                             f"{value:g}")
        painter.save()
        painter.translate(10, area.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-100, -8, 200, 16), int(Qt.AlignmentFlag.AlignCenter),
                         self.tr("LOS displacement (mm)"))
        painter.restore()
        for k, entry in enumerate(self.plotted):
            self._draw_series(painter, entry, QColor(COLOURS[k]), to_screen)

    @staticmethod
    def _draw_series(painter: QPainter, entry: PlottedSeries, colour: QColor,
                     to_screen: Any) -> None:
        series, fit = entry.series, entry.fit
        if fit is not None:
            days = [series.dates[0], series.dates[-1]]
            band = [fit.std(d) for d in days]
            if all(math.isfinite(b) for b in band):
                # The band is widest at the ends: sample it along the line.
                n = 24
                span = days[1].toordinal() - days[0].toordinal()
                samples = [date.fromordinal(days[0].toordinal() + round(span * i / n))
                           for i in range(n + 1)]
                upper = [to_screen(d, fit.value(d) + fit.std(d)) for d in samples]
                lower = [to_screen(d, fit.value(d) - fit.std(d)) for d in reversed(samples)]
                fill = QColor(colour)
                fill.setAlpha(45)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(fill)
                painter.drawPolygon(QPolygonF(upper + lower))
            pen = QPen(colour, 1.2)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(to_screen(days[0], fit.value(days[0])),
                             to_screen(days[1], fit.value(days[1])))
        points = [to_screen(d, float(v)) for d, v in zip(series.dates, series.displacement_mm)
                  if math.isfinite(float(v))]
        painter.setPen(QPen(colour, 1.5))
        for a, b in itertools.pairwise(points):
            painter.drawLine(a, b)
        painter.setBrush(colour)
        for point in points:
            painter.drawEllipse(point, 2.5, 2.5)
