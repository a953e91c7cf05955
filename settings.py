"""Every QgsSettings key of the plugin, with typed getters and setters (one place for all)."""

from __future__ import annotations

from qgis.core import QgsSettings

PREFIX = "sbas_selector"
RECENT_STACKS = f"{PREFIX}/recent_stacks"
MAX_RECENT = 10


def recent_stacks() -> list[str]:
    """Stacks opened recently, newest first."""
    value = QgsSettings().value(RECENT_STACKS, [])
    if isinstance(value, str):
        value = [value] if value else []
    return [str(v) for v in (value or [])]


def remember_stack(path: str) -> None:
    """Put a stack at the top of the recent list."""
    stacks = [path] + [p for p in recent_stacks() if p != path]
    QgsSettings().setValue(RECENT_STACKS, stacks[:MAX_RECENT])


CHECK_DEPENDENCIES = f"{PREFIX}/check_dependencies_at_start"


def check_dependencies_at_start() -> bool:
    """Whether the plugin looks for missing Python packages when QGIS starts."""
    return QgsSettings().value(CHECK_DEPENDENCIES, True, type=bool)


def set_check_dependencies_at_start(value: bool) -> None:
    QgsSettings().setValue(CHECK_DEPENDENCIES, bool(value))


LAST_EXPORT_FOLDER = f"{PREFIX}/last_export_folder"


def last_export_folder() -> str:
    """The folder the analyst last exported a pair list to ("" before any)."""
    return str(QgsSettings().value(LAST_EXPORT_FOLDER, "") or "")


def set_last_export_folder(folder: str) -> None:
    QgsSettings().setValue(LAST_EXPORT_FOLDER, folder)


HIDDEN_PAIR_COLUMNS = f"{PREFIX}/hidden_pair_columns"


def hidden_pair_columns() -> list[str]:
    """Columns of the pair table the analyst hid (none by default)."""
    value = QgsSettings().value(HIDDEN_PAIR_COLUMNS, [])
    if isinstance(value, str):
        value = [value] if value else []
    return [str(v) for v in (value or [])]


def set_hidden_pair_columns(names: list[str]) -> None:
    QgsSettings().setValue(HIDDEN_PAIR_COLUMNS, list(names))
