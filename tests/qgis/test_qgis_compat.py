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


def test_phase_and_coherence_styles_without_deprecated_calls(qgis_app, real_stack_path):
    """QGIS warns when a deprecated call is made (3.40: bandStatistics() with an int or, through
    its bindings, any explicit statistics value): every warning here is an error."""
    from qgis.core import QgsColorRampShader, QgsRasterLayer

    from sbas_selector.core import open_stack
    from sbas_selector.core.phase_display import write_display_raster
    from sbas_selector.ui.layers import style_coherence, style_phase

    stack = open_stack(real_stack_path)
    path, limit = write_display_raster(stack, 0, None)
    layer = QgsRasterLayer(str(path), "phase")
    assert layer.isValid() and limit > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        style_phase(layer, wrapped=False, limit_rad=limit, wavelength_m=stack.wavelength_m)
        unwrapped = layer.renderer()
        assert (unwrapped.classificationMin(), unwrapped.classificationMax()) == \
            (-limit, limit)  # centred on zero
        style_phase(layer, wrapped=True)
        wrapped = layer.renderer()
        coherence = QgsRasterLayer(str(sorted((real_stack_path / "cc").glob("*.tif"))[0]), "cc")
        style_coherence(coherence)
    assert np.isclose(wrapped.classificationMin(), -np.pi)
    assert np.isclose(wrapped.classificationMax(), np.pi)
    ramp = wrapped.shader().rasterShaderFunction()
    assert int(ramp.colorRampType()) == int(QgsColorRampShader.Interpolated)
    assert coherence.renderer().contrastEnhancement().maximumValue() == 1.0
