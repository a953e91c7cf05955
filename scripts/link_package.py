"""Make the repository importable as ``sbas_selector`` in the venv and add its command.

The repository root is the QGIS plugin folder, so it cannot be pip-installed under its own name;
a symbolic link in site-packages and a small launcher do the job, and stay in step with edits.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

root = Path(__file__).resolve().parent.parent
site_packages = Path(sysconfig.get_paths()["purelib"])
link = site_packages / "sbas_selector"
if link.is_symlink() or link.exists():
    if link.resolve() != root:
        link.unlink()
if not link.exists():
    link.symlink_to(root, target_is_directory=True)

launcher = Path(sys.prefix) / "bin" / "sbas-selector"
launcher.write_text(
    f"#!{sys.executable}\n"
    "import gc\n"
    "import sys\n"
    "\n"
    "gc.disable()  # until the imports are done: cli.run turns it back on\n"
    "from sbas_selector.cli import run\n"
    "sys.exit(run())\n",
    encoding="utf-8",
)
os.chmod(launcher, 0o755)
print(f"sbas_selector -> {root}; command {launcher}")
