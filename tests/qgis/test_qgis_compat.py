"""qgis_compat: the successor of each deprecated QGIS name where this QGIS has it, and the
calls that use them give what the old names gave."""

from __future__ import annotations

import warnings

import numpy as np


def test_successors_where_this_qgis_has_them(qgis_app):
    from qgis.core import Qgis, QgsColorRampShader, QgsProcessingParameterNumber

    from sbas_selector import qgis_compat

    if hasattr(Qgis, "ProcessingNumberParameterType"):  # QGIS >= 3.36
        assert qgis_compat.NumberType is Qgis.ProcessingNumberParameterType
    assert int(qgis_compat.NumberType.Double) == int(QgsProcessingParameterNumber.Double)
    assert int(qgis_compat.RAMP_INTERPOLATED) == int(QgsColorRampShader.Interpolated)


def test_phase_layer_range_and_styles_without_deprecated_calls(qgis_app, real_stack_path):
    """QGIS warns when a deprecated call is made (3.40: bandStatistics() with an int or, through
    its bindings, any explicit statistics value): every warning here is an error."""
    from osgeo import gdal
    from qgis.core import QgsColorRampShader, QgsRasterLayer

    from sbas_selector.ui.layers import _range, style_coherence, style_phase

    path = sorted((real_stack_path / "unw").glob("*_unw.tif"))[0]
    layer = QgsRasterLayer(str(path), "phase")
    assert layer.isValid()
    dataset = gdal.Open(str(path))
    values = dataset.GetRasterBand(1).ReadAsArray()
    nodata = dataset.GetRasterBand(1).GetNoDataValue()
    valid = values[np.isfinite(values) & (values != nodata)] if nodata is not None else values
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        low, high = _range(layer)
        style_phase(layer, wrapped=False)
        style_coherence(layer)
    assert np.isclose(low, valid.min(), rtol=1e-5) and np.isclose(high, valid.max(), rtol=1e-5)
    style_phase(layer, wrapped=False)
    ramp = layer.renderer().shader().rasterShaderFunction()
    assert int(ramp.colorRampType()) == int(QgsColorRampShader.Interpolated)
    style_coherence(layer)
    assert layer.renderer().contrastEnhancement().maximumValue() == 1.0
