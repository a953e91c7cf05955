"""Every Qt name the plugin uses, checked against PyQt6 by introspection (QGIS 4 runs Qt6).

Run as ``python qt6_names.py FILE...`` in a process that imports PyQt6 and nothing of PyQt5 or
QGIS; prints a JSON list of problems (empty: every name resolves under PyQt6).

What is checked, from the source's syntax tree:

- every name imported from ``qgis.PyQt.<module>`` exists in ``PyQt6.<module>`` (an import in
  an ``except ImportError:`` handler is the Qt5 fallback of the import tried first: not
  checked; QGIS 4's ``qgis.PyQt.QtWidgets`` is ``PyQt6.QtWidgets``, without the classes Qt6
  moved to QtGui, such as QAction);
- every attribute chain on such a name resolves (``Qt.AlignmentFlag.AlignLeft``,
  ``QMessageBox.StandardButton.Yes``, ``QToolTip.showText``);
- methods called on objects whose Qt class is known: variables assigned from a Qt constructor,
  parameters annotated with a Qt class, the event parameter of Qt's event handlers
  (``mouseMoveEvent(event)`` is a ``QMouseEvent``), and ``self`` in a class derived from a Qt
  class (for attributes the class does not define itself).

Objects whose class the syntax does not tell (results of calls, attributes of attributes) are
not checked here; the widgets' offscreen run under PyQt6 covers what it executes.
"""

from __future__ import annotations

import ast
import json
import sys

#: Qt's event handlers and the class of their event argument (event() and eventFilter() get any
#: QEvent subclass, narrowed by its type() at run time: not typed here).
EVENT_HANDLERS = {
    "mousePressEvent": "QMouseEvent", "mouseReleaseEvent": "QMouseEvent",
    "mouseMoveEvent": "QMouseEvent", "mouseDoubleClickEvent": "QMouseEvent",
    "paintEvent": "QPaintEvent", "keyPressEvent": "QKeyEvent", "keyReleaseEvent": "QKeyEvent",
    "resizeEvent": "QResizeEvent", "wheelEvent": "QWheelEvent", "closeEvent": "QCloseEvent",
    "showEvent": "QShowEvent", "hideEvent": "QHideEvent", "enterEvent": "QEnterEvent",
    "leaveEvent": "QEvent", "focusInEvent": "QFocusEvent", "focusOutEvent": "QFocusEvent",
    "contextMenuEvent": "QContextMenuEvent",
}


def _pyqt6_modules() -> dict[str, object]:
    import importlib

    modules = {}
    for name in ("QtCore", "QtGui", "QtWidgets", "QtSvg", "QtNetwork", "QtPrintSupport"):
        try:
            modules[name] = importlib.import_module(f"PyQt6.{name}")
        except ImportError:
            continue
    return modules


def _lookup(modules: dict[str, object], module: str, name: str) -> object | None:
    return getattr(modules.get(module), name, None)


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when it does not start at a plain name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _string_tuples(tree: ast.AST) -> dict[str, set[str]]:
    """Module-level ``NAME = ("a", "b", ...)`` constants (names a class may ``setattr`` on
    itself, such as the dock's widget names)."""
    found: dict[str, set[str]] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)) \
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                        for e in node.value.elts):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = {e.value for e in node.value.elts}
    return found


class _FileChecker(ast.NodeVisitor):
    def __init__(self, path: str, modules: dict[str, object],
                 string_tuples: dict[str, set[str]] | None = None) -> None:
        self.path = path
        self.modules = modules
        self.string_tuples = string_tuples or {}
        self.qt: dict[str, object] = {}  # local name -> PyQt6 object (None: missing)
        self.problems: list[str] = []
        self.scopes: list[dict[str, str]] = [{}]  # variable -> Qt class name
        self.classes: list[tuple[str | None, set[str]]] = []  # (Qt base, own attributes)
        self.fallback = False  # inside an ``except ImportError:`` handler

    def _problem(self, node: ast.AST, text: str) -> None:
        self.problems.append(f"{self.path}:{getattr(node, 'lineno', 0)}: {text}")

    # imports ------------------------------------------------------------------------
    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        outer = self.fallback
        names = _chain(node.type) if node.type is not None else None
        self.fallback = outer or names == ["ImportError"] or names == ["ModuleNotFoundError"]
        self.generic_visit(node)
        self.fallback = outer

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.startswith("qgis.PyQt.") or module.startswith(("PyQt5.", "PyQt6.")):
            qt_module = module.split(".")[-1]
            if module.startswith("PyQt5."):
                self._problem(node, f"imports {module} (import through qgis.PyQt)")
            for alias in node.names:
                if self.fallback:
                    continue  # the Qt5 fallback; the name is bound by the import tried first
                found = _lookup(self.modules, qt_module, alias.name)
                if found is None:
                    self._problem(node, f"{qt_module}.{alias.name} is not in PyQt6")
                self.qt[alias.asname or alias.name] = found
        self.generic_visit(node)

    # classes and functions --------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        base = next((b.id for b in node.bases if isinstance(b, ast.Name) and b.id in self.qt),
                    None)
        own = {item.name for item in node.body
               if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        own |= {target.id for item in node.body if isinstance(item, (ast.Assign, ast.AnnAssign))
                for target in (item.targets if isinstance(item, ast.Assign) else [item.target])
                if isinstance(target, ast.Name)}
        for sub in ast.walk(node):  # attributes the class sets on self
            if (isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
                    and isinstance(sub.value, ast.Name) and sub.value.id == "self"):
                own.add(sub.attr)
            # ``for name in NAMES: setattr(self, name, ...)`` with NAMES a tuple of strings
            if isinstance(sub, ast.For) and isinstance(sub.iter, ast.Name) \
                    and isinstance(sub.target, ast.Name) \
                    and sub.iter.id in self.string_tuples \
                    and any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                            and c.func.id == "setattr" and c.args
                            and isinstance(c.args[0], ast.Name) and c.args[0].id == "self"
                            for c in ast.walk(sub)):
                own |= self.string_tuples[sub.iter.id]
        self.classes.append((base, own))
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        scope: dict[str, str] = {}
        arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        for argument in arguments:
            annotation = argument.annotation
            if isinstance(annotation, ast.Name) and annotation.id in self.qt:
                scope[argument.arg] = annotation.id
        in_qt_class = bool(self.classes) and self.classes[-1][0] is not None
        if in_qt_class and node.name in EVENT_HANDLERS and len(arguments) >= 2:
            event = arguments[-1].arg
            scope.setdefault(event, EVENT_HANDLERS[node.name])
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in self.qt and isinstance(self.qt[value.func.id], type):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.scopes[-1][target.id] = value.func.id
        self.generic_visit(node)

    # attribute use ----------------------------------------------------------------------
    def _class_of(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _chain(node)
        if chain is None or not isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
            return
        root, rest = chain[0], chain[1:]
        if root in self.qt and self.qt[root] is not None:
            self._resolve(node, root, self.qt[root], rest)
        elif root == "self" and self.classes and self.classes[-1][0] is not None:
            base, own = self.classes[-1]
            if rest[0] not in own and self.qt.get(base) is not None:
                self._resolve(node, base, self.qt[base], rest[:1])
        elif (qt_class := self._class_of(root)) is not None:
            klass = self.qt.get(qt_class) or _lookup(self.modules, "QtGui", qt_class)
            if klass is not None:
                self._resolve(node, qt_class, klass, rest[:1])
            else:
                self._problem(node, f"{qt_class} (the type of {root}) is not in PyQt6")
        # the chain's inner nodes are this chain: do not visit them again
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.Attribute, ast.Name)):
                self.visit(child)

    def _resolve(self, node: ast.AST, label: str, obj: object, rest: list[str]) -> None:
        for part in rest:
            if not isinstance(obj, type):
                return  # a method or a value: what follows is on its result
            found = getattr(obj, part, None)
            if found is None:
                self._problem(node, f"{label}.{part} is not in PyQt6")
                return
            label, obj = f"{label}.{part}", found


def check(paths: list[str]) -> list[str]:
    """Problems found in ``paths`` under this process's PyQt6."""
    modules = _pyqt6_modules()
    problems: list[str] = []
    trees = {}
    string_tuples: dict[str, set[str]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            trees[path] = ast.parse(handle.read(), path)
        string_tuples.update(_string_tuples(trees[path]))
    for path, tree in trees.items():
        checker = _FileChecker(path, modules, string_tuples)
        checker.visit(tree)
        problems += checker.problems
    return problems


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1:])))
