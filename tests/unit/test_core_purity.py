"""core/ must import without QGIS or Qt (it runs headless, in workers and on the CLI)."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_qgis_or_qt():
    code = (
        "import sys\n"
        "import sbas_selector, sbas_selector.core, sbas_selector.core.simulation, "
        "sbas_selector.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'PyQt6')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
