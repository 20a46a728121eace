"""The architecture as a test (docs/architecture.md draws it): layers, no import circles, sizes.

Each module of ``lts_core`` belongs to one layer; it may import its own layer and the layers
below, never above. Imports under ``if TYPE_CHECKING:`` are annotations only and do not count;
imports inside functions do (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lts_core"

# lowest first. A layer is a set of packages under lts_core (docs/architecture.md draws them); the
# foundation is the few modules at the top of lts_core, which every layer may use.
FOUNDATION = {"registry", "seeds", "limits", "secrets", "config", "faults", "interrupts", "scoring"}
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", FOUNDATION),
    ("record", {"record"}),
    ("world", {"world"}),
    ("parts", {"backends", "policies"}),
    ("runtime", {"runtime"}),
    ("learning", {"learning", "scale"}),
    ("evaluation", {"evaluation"}),
    ("cli", {"cli"}),
]
MAX_LINES = 300


def _name(p: Path) -> str:
    parts = ["lts_core", *p.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _top(module: str) -> str:
    """The module's first component under lts_core ("" for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "lts_core" else ""


def _layer(module: str) -> int | None:
    """Index in LAYERS; None for the package itself (its __init__ is the public API)."""
    if module == "lts_core":
        return None
    top = _top(module)
    for i, (_, names) in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md")


def _imports(module: str, path: Path) -> set[str]:
    """Modules of lts_core (and anything under app) that ``module`` imports at run time."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for n in names:
            if n == "app" or n.startswith("app."):
                out.add(n)
                continue
            while n and n not in MODULES:
                n = n.rpartition(".")[0]
            if n and n != module:
                out.add(n)
    return out


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    for m in MODULES:
        _layer(m)


def test_layers_are_packages_and_the_foundation_is_all_that_sits_at_the_top() -> None:
    """A module at the top of lts_core is a foundation module; every other layer is packages."""
    top = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    assert top == FOUNDATION, f"modules at the top of lts_core: {sorted(top ^ FOUNDATION)}"
    for name, packages in LAYERS[1:]:
        for pkg in packages:
            assert (ROOT / pkg / "__init__.py").is_file(), f"layer {name}: {pkg}/ is not a package"


def test_no_module_imports_a_layer_above_its_own_or_the_app() -> None:
    bad = []
    for m, targets in GRAPH.items():
        lm = _layer(m)
        for t in sorted(targets):
            if t.split(".")[0] == "app":
                bad.append(f"{m} imports {t}: the engine never imports the dashboard")
                continue
            lt = _layer(t)
            if lm is not None and lt is not None and lt > lm:
                bad.append(f"{m} ({LAYERS[lm][0]}) imports {t} ({LAYERS[lt][0]})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("low", ["record", "parts"])
def test_the_record_policies_and_backends_import_no_runtime(low: str) -> None:
    """The issue's rule in words: record, policies and back-ends never import the runtime."""
    runtime = next(names for name, names in LAYERS if name == "runtime")
    lows = next(names for name, names in LAYERS if name == low)
    for m, targets in GRAPH.items():
        if _top(m) in lows:
            assert not {t for t in targets if _top(t) in runtime}, m


def test_no_import_circle() -> None:
    """A depth-first search over the import graph finds no cycle (package __init__s aside: they
    re-export their own modules)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if t.split(".")[0] != "lts_core" or t == "lts_core" or m.startswith(t + "."):
                continue  # a module importing its own package's __init__ is not a circle
            if state.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(t):] + [t])
                                     if t in path else f"import circle through {t}")
            if state.get(t) is None:
                visit(t, path + [t])
        state[m] = 2

    for m in MODULES:
        if state.get(m) is None:
            visit(m, [m])


def test_modules_are_readable_in_one_sitting() -> None:
    """Over MAX_LINES lines only with a reason, written in the module docstring as 'Size: ...'."""
    long = []
    for m, p in MODULES.items():
        n = len(p.read_text().splitlines())
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        if n > MAX_LINES and "Size:" not in doc:
            long.append(f"{m}: {n} lines and no 'Size:' reason in its docstring")
    assert not long, "\n".join(long)
