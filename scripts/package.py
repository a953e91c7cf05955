"""Build the plugin zip that QGIS's "Install from ZIP" accepts, and check it the way
plugins.qgis.org does (``make package``); ``--deploy PROFILE_DIR`` also installs it there.

The zip holds one folder, ``sbas_selector/``, with the runtime files only: the Python package
(no tests, training code, benchmarks or scripts) with its icons as files, the shipped ONNX
model and its card, the documentation pages with their pictures, and the sample stack (the real
Mexico City stack without its unused GAMMA lookup table, Apache-2.0, with its licence and
attribution). The build fails on: a zip over plugins.qgis.org's 25,000,000 bytes; an
incomplete ``metadata.txt``; any bandit finding (a
justified exception carries ``# nosec`` and its reason in the source); anything detect-secrets
reports; a binary file other than the model, rasters and pictures; a file that must not ship
(bytecode, caches, virtual environments).
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "sbas_selector"
RUNTIME_FILES = ("__init__.py", "plugin.py", "settings.py", "tasks.py", "qgis_compat.py", "cli.py",
                 "plots.py", "metadata.txt", "LICENSE", "README.md")
RUNTIME_FOLDERS = ("core", "ui", "processing_provider", "icons")
MODEL_FILES = ("models/sbas_selector.onnx", "models/MODEL_CARD.md", "models/README.md")
SAMPLE = ROOT.parent / "shared" / "data" / "real" / "mexico_city_cropA"
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "qgisMaximumVersion", "description",
                     "about", "version", "author", "email", "repository", "tracker", "icon")
#: Binary files allowed in the zip, by suffix: the model, rasters, pictures.
BINARY_SUFFIXES = {".onnx", ".tif", ".tiff", ".png", ".svg"}
#: plugins.qgis.org refuses larger uploads (QGIS-Django's validator: 25,000,000 bytes).
REPOSITORY_LIMIT_BYTES = 25_000_000
FORBIDDEN = re.compile(r"(__pycache__|\.pyc$|\.pyo$|\.so$|\.dll$|\.exe$|\.pyd$|(^|/)\.venv"
                       r"|(^|/)\.git(/|$)|\.pytest_cache|\.ruff_cache)")


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".ruff_cache"))


#: Pictures in the help pages are at most this wide (the screenshots are 1600 px).
HELP_PICTURE_WIDTH = 900


def _shrink_png(source: Path, target: Path) -> None:
    """Copy a PNG, scaled down to :data:`HELP_PICTURE_WIDTH` if wider (nearest neighbour:
    flat colours stay flat and compress well)."""
    from osgeo import gdal

    gdal.UseExceptions()
    width = gdal.Open(str(source)).RasterXSize
    if width <= HELP_PICTURE_WIDTH:
        shutil.copy2(source, target)
        return
    gdal.Translate(str(target), str(source), format="PNG", width=HELP_PICTURE_WIDTH, height=0,
                   resampleAlg="near")
    target.with_name(target.name + ".aux.xml").unlink(missing_ok=True)


def stage(folder: Path, sample: Path | None = SAMPLE) -> Path:
    """Copy the runtime files into ``folder/sbas_selector`` (icons as files: no compiled Qt
    resources, which would tie the plugin to PyQt5 or PyQt6)."""
    plugin = folder / NAME
    plugin.mkdir(parents=True)
    for name in RUNTIME_FILES:
        shutil.copy2(ROOT / name, plugin / name)
    for name in RUNTIME_FOLDERS:
        _copy_tree(ROOT / name, plugin / name)
    (plugin / "models").mkdir()
    for name in MODEL_FILES:
        shutil.copy2(ROOT / name, plugin / name)
    (plugin / "docs" / "images").mkdir(parents=True)
    pages = sorted((ROOT / "docs").glob("*.md"))
    pictures = {name for page in pages
                for name in re.findall(r"\(images/([\w.-]+\.png)\)", page.read_text())}
    for page in pages:  # the pages, and only the pictures they show (the README's stay out)
        shutil.copy2(page, plugin / "docs" / page.name)
    for name in sorted(pictures):
        _shrink_png(ROOT / "docs" / "images" / name, plugin / "docs" / "images" / name)
    if sample is not None:
        if not (sample / "LICENSE").is_file():
            raise SystemExit(f"{sample}: the sample stack must keep its LICENSE")
        # The GAMMA lookup table (*.lt, binary, unused by the readers) stays out.
        shutil.copytree(sample, plugin / "sample_data" / sample.name,
                        ignore=shutil.ignore_patterns("*.lt"))
    return plugin


def check_metadata(plugin: Path) -> list[str]:
    """Problems with ``metadata.txt``, as plugins.qgis.org would report them."""
    parser = configparser.ConfigParser()
    parser.read(plugin / "metadata.txt", encoding="utf-8")
    if not parser.has_section("general"):
        return ["metadata.txt has no [general] section"]
    general = parser["general"]
    problems = [f"metadata.txt lacks {key}" for key in REQUIRED_METADATA
                if not general.get(key, "").strip()]
    version = general.get("version", "")
    if version and not re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
        problems.append(f"metadata.txt: version {version!r} is not X.Y[.Z]")
    icon = general.get("icon", "")
    if icon and not (plugin / icon).is_file():
        problems.append(f"metadata.txt: icon {icon} is not in the package")
    if not (plugin / "LICENSE").is_file():
        problems.append("no LICENSE file")
    return problems


def run_bandit(plugin: Path) -> list[str]:
    """Every bandit finding (each a line); a justified exception carries ``# nosec`` with its
    reason in the source."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "bandit"), "-r", str(plugin), "-f", "json", "-q"],
        capture_output=True, text=True)
    report = json.loads(completed.stdout or "{}")
    results = report.get("results", [])
    if completed.returncode not in (0, 1) or "results" not in report:
        return [f"bandit did not run: {completed.stderr.strip()[:300]}"]
    return [f"{r['filename']}:{r['line_number']}: {r['test_id']} ({r['issue_severity']}) "
            f"{r['issue_text']}" for r in results]


def run_detect_secrets(plugin: Path) -> list[str]:
    """Everything detect-secrets finds (each a line)."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "detect-secrets"), "scan", "--all-files", "."],
        capture_output=True, text=True, cwd=plugin, check=True)
    found = json.loads(completed.stdout).get("results", {})
    return [f"{path}:{item['line_number']}: {item['type']}"
            for path, items in found.items() for item in items]


def check_files(plugin: Path) -> list[str]:
    """Files that must not ship, and binaries other than the model, rasters and pictures."""
    problems = []
    for path in sorted(plugin.rglob("*")):
        relative = path.relative_to(plugin.parent).as_posix()
        if FORBIDDEN.search(relative):
            problems.append(f"{relative}: must not ship")
        elif path.is_file() and path.suffix.lower() not in BINARY_SUFFIXES and \
                b"\0" in path.read_bytes()[:8192]:
            problems.append(f"{relative}: binary file")
    return problems


def build(out: Path, sample: Path | None = SAMPLE) -> tuple[Path, list[str]]:
    """Build and check the zip. Returns (zip, problems)."""
    with tempfile.TemporaryDirectory() as tmp:
        plugin = stage(Path(tmp), sample)
        problems = check_metadata(plugin) + check_files(plugin)
        problems += [f"bandit: {line}" for line in run_bandit(plugin)]
        problems += [f"detect-secrets: {line}" for line in run_detect_secrets(plugin)]
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".zip.part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for path in sorted(plugin.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(plugin.parent).as_posix())
        partial.replace(out)
    return out, problems


def deploy(archive: Path, profile: Path) -> Path:
    """Install the zip into a QGIS profile folder (``.../QGIS3/profiles/<name>``): unpack it
    into ``python/plugins`` in place of an older copy (what "Install from ZIP" does) and
    enable it in ``QGIS/QGIS3.ini``."""
    plugins_dir = profile / "python" / "plugins"
    target = plugins_dir / NAME
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    plugins_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(plugins_dir)
    enable_plugin(profile / "QGIS" / "QGIS3.ini")
    return target


def enable_plugin(ini: Path) -> None:
    """Set ``[PythonPlugins] sbas_selector=true`` in a QGIS settings file, keeping the rest."""
    lines = ini.read_text(encoding="utf-8").splitlines() if ini.exists() else []
    entry = f"{NAME}=true"
    if "[PythonPlugins]" not in lines:
        lines += ["", "[PythonPlugins]", entry]
    else:
        start = lines.index("[PythonPlugins]") + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        section = [line for line in lines[start:end] if not line.startswith(f"{NAME}=")]
        lines[start:end] = [entry, *section]
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / f"{NAME}.zip")
    parser.add_argument("--sample", type=Path, default=SAMPLE,
                        help="the sample stack to bundle (default: the shared real stack)")
    parser.add_argument("--no-sample", action="store_true", help="leave the sample stack out")
    parser.add_argument("--deploy", type=Path, metavar="PROFILE_DIR",
                        help="also install into this QGIS profile folder and enable it")
    args = parser.parse_args()
    archive, problems = build(args.out, None if args.no_sample else args.sample)
    size = archive.stat().st_size
    with zipfile.ZipFile(archive) as opened:
        count = len(opened.namelist())
    print(f"{archive}: {size:,} bytes ({size / 2**20:.1f} MiB), {count} files")
    if size > REPOSITORY_LIMIT_BYTES:
        problems.append(f"{size:,} bytes: over plugins.qgis.org's upload limit of "
                        f"{REPOSITORY_LIMIT_BYTES:,} bytes")
    if problems:
        archive.unlink()
        print("package refused:\n  " + "\n  ".join(problems), file=sys.stderr)
        raise SystemExit(1)
    print("checks passed: metadata.txt, bandit (no finding), detect-secrets (none), "
          f"no stray binaries, under plugins.qgis.org's {REPOSITORY_LIMIT_BYTES:,} bytes")
    if args.deploy:
        print(f"installed into {deploy(archive, args.deploy)}")


if __name__ == "__main__":
    main()
