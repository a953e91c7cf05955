"""Print, as one JSON line, the versions of what the plugin runs on here (for the matrix)."""

from __future__ import annotations

import json
import platform
import sys


def _version(module: str, attribute: str = "__version__") -> str | None:
    try:
        imported = __import__(module, fromlist=["_"])
    except Exception:  # an extension that fails to load counts as absent
        return None
    value = getattr(imported, attribute, None)
    return str(value) if value is not None else None


def main() -> None:
    versions = {"suite": sys.argv[1] if len(sys.argv) > 1 else platform.node(),
                "python": platform.python_version(),
                "numpy": _version("numpy"),
                "gdal": _version("osgeo.gdal"),
                "onnxruntime": _version("onnxruntime"),
                "qt": _version("qgis.PyQt.QtCore", "QT_VERSION_STR"),
                "pyqt": _version("qgis.PyQt.QtCore", "PYQT_VERSION_STR")}
    try:
        from qgis.core import Qgis

        versions["qgis"] = Qgis.version()
    except Exception:  # no QGIS here
        versions["qgis"] = None
    print(json.dumps(versions))


if __name__ == "__main__":
    main()
