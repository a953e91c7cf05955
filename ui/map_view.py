"""The one place that moves the map canvas to a stack: through the project's CRS."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsCoordinateTransform, QgsProject, QgsRectangle


def extent_in_canvas_crs(canvas: Any, layer: Any) -> QgsRectangle:
    """``layer``'s extent in the canvas's (the project's) CRS."""
    destination = canvas.mapSettings().destinationCrs()
    if not destination.isValid() or destination == layer.crs():
        return QgsRectangle(layer.extent())
    transform = QgsCoordinateTransform(layer.crs(), destination, QgsProject.instance())
    return transform.transformBoundingBox(layer.extent())


def zoom_to_layer(canvas: Any, layer: Any) -> QgsRectangle:
    """Show all of ``layer`` on ``canvas``, whatever the project's CRS (a project without a
    CRS takes the layer's). Returns the extent set, in the canvas's CRS."""
    if not canvas.mapSettings().destinationCrs().isValid():
        QgsProject.instance().setCrs(layer.crs())
        canvas.setDestinationCrs(layer.crs())
    extent = extent_in_canvas_crs(canvas, layer)
    canvas.setExtent(extent)
    canvas.refresh()
    return extent


def stack_crs(stack: Any) -> Any:
    """The stack's CRS as a QgsCoordinateReferenceSystem."""
    from qgis.core import QgsCoordinateReferenceSystem

    return QgsCoordinateReferenceSystem.fromWkt(stack.grid.crs_wkt)


def map_point_to_pixel(canvas: Any, point: Any, stack: Any) -> tuple[int, int]:
    """(row, col) of the stack's pixel under a canvas point (in the canvas's CRS)."""
    destination = stack_crs(stack)
    source = canvas.mapSettings().destinationCrs()
    if source.isValid() and destination.isValid() and source != destination:
        point = QgsCoordinateTransform(source, destination, QgsProject.instance()).transform(
            point)
    return stack.grid.xy_to_pixel(point.x(), point.y())


def pixel_to_map_point(canvas: Any, stack: Any, row: int, col: int) -> Any:
    """The canvas point (canvas CRS) at the centre of pixel (row, col)."""
    from qgis.core import QgsPointXY

    x, y = stack.grid.pixel_to_xy(row, col)
    point = QgsPointXY(x, y)
    source, destination = stack_crs(stack), canvas.mapSettings().destinationCrs()
    if source.isValid() and destination.isValid() and source != destination:
        point = QgsCoordinateTransform(source, destination, QgsProject.instance()).transform(
            point)
    return point


def describe_pixel(stack: Any, row: int, col: int) -> str:
    """"row r, col c · x, y (EPSG:n) · lon°, lat°": where a pixel is, in words."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsPointXY

    x, y = stack.grid.pixel_to_xy(row, col)
    crs = stack_crs(stack)
    text = f"row {row}, col {col}"
    if not crs.isValid():
        return text
    if crs.isGeographic():
        return text + f" · {x:.5f}°, {y:.5f}°"
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    lonlat = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(
        QgsPointXY(x, y))
    return text + f" · {x:.0f}, {y:.0f} ({crs.authid()}) · {lonlat.x():.5f}°, {lonlat.y():.5f}°"
