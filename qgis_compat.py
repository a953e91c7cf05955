"""QGIS names whose successors came after 3.22, the oldest QGIS the plugin supports.

QGIS 3.36-3.40 moved these enums into ``Qgis`` and deprecated the old names (QGIS 4 drops the
compatibility aliases); 3.22 has only the old ones. Each name here is the successor where this
QGIS has it, else the 3.22 name, so that the plugin uses no deprecated name where it can avoid
one.
"""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsContrastEnhancement,
    QgsProcessingParameterNumber,
)

#: ``.Integer``, ``.Double``: Qgis.ProcessingNumberParameterType (3.36), else
#: QgsProcessingParameterNumber.Type.
NumberType = getattr(Qgis, "ProcessingNumberParameterType", QgsProcessingParameterNumber.Type)

#: Linear interpolation between a colour ramp's items: Qgis.ShaderInterpolationMethod.Linear
#: (3.38), else QgsColorRampShader.Type.Interpolated.
RAMP_INTERPOLATED = (Qgis.ShaderInterpolationMethod.Linear
                     if hasattr(Qgis, "ShaderInterpolationMethod")
                     else QgsColorRampShader.Type.Interpolated)

#: Stretch to the band's minimum and maximum (the scoped name works from 3.22 to 3.44).
STRETCH_TO_MIN_MAX = QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum
