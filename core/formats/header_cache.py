"""Raster headers remembered between runs, so that opening a stack seen before costs one
``stat`` per file instead of opening each with GDAL.

``classify``, ``network``, ``invert``, ``export`` and the plugin each open the stack anew, and
opening inspects every phase and coherence raster (:func:`.common.inspect_raster`: grid, CRS,
no-data value, a truncation check): a few hundred files on a local disk, thousands on a
network share. What a readable raster's header said is kept in the user's data folder (never
beside the user's files), keyed by the file's path, size and modification time: a raster that
changed in any way (rewritten, truncated, replaced) is inspected again, and a raster that
could not be read is never remembered. Anything unreadable in the cache is ignored: it can
only save time.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..atomic import write_text_atomic
from ..paths import user_data_folder
from .common import RasterInfo

logger = logging.getLogger(__name__)

#: Changes whenever :class:`RasterInfo`, the inspection or this file's layout changes, so older
#: entries are dropped.
VERSION = 2


def _file(folder: Path) -> Path:
    return user_data_folder("headers", folder).with_suffix(".json")


def _identity(path: Path) -> list[int] | None:
    """The file's size and modification time (ns); None where it cannot be read."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


class HeaderCache:
    """The remembered headers of the rasters under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._entries: dict[str, dict] = {}
        self._changed = False
        self._crs: list[str] = []  # each CRS once (a WKT is about 1 kB; a stack has one)
        try:
            stored = json.loads(_file(folder).read_text(encoding="utf-8"))
            if (stored.get("version") == VERSION and isinstance(stored.get("files"), dict)
                    and isinstance(stored.get("crs"), list)):
                self._entries, self._crs = stored["files"], stored["crs"]
        except (OSError, ValueError, AttributeError):
            pass

    def get(self, path: Path) -> RasterInfo | None:
        """The header remembered for this file as it is now; None when unknown or changed."""
        entry = self._entries.get(os.path.abspath(path))
        if entry is None or entry.get("identity") != _identity(path):
            return None
        try:
            fields = dict(entry["info"])
            fields["geotransform"] = tuple(fields["geotransform"])
            fields["crs_wkt"] = str(self._crs[fields.pop("crs")])
            return RasterInfo(path=path, **fields)
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    def put(self, info: RasterInfo) -> None:
        identity = _identity(info.path)
        if identity is None:
            return
        fields = {name: getattr(info, name) for name in (
            "width", "height", "geotransform", "nodata", "data_type", "tags")}
        if info.crs_wkt not in self._crs:
            self._crs.append(info.crs_wkt)
        fields["crs"] = self._crs.index(info.crs_wkt)
        self._entries[os.path.abspath(info.path)] = {"identity": identity, "info": fields}
        self._changed = True

    def retain(self, paths: list[Path]) -> None:
        """Forget the files other than these (products removed or renamed since): the cache
        holds one stack's files, not every file the folder ever held."""
        keep = {os.path.abspath(path) for path in paths}
        stale = [name for name in self._entries if name not in keep]
        for name in stale:
            del self._entries[name]
        self._changed = self._changed or bool(stale)

    def save(self) -> None:
        """Write the headers added since loading (atomically; failures ignored)."""
        if not self._changed:
            return
        try:
            write_text_atomic(_file(self.folder), json.dumps(
                {"version": VERSION, "crs": self._crs, "files": self._entries}))
            self._changed = False
        except (OSError, ValueError) as exc:  # (ValueError: a tag JSON cannot hold)
            logger.debug("raster headers not remembered (%s)", exc)
