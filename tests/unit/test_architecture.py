"""The layout's promises, checked on the source itself: no import loops, the domain innermost,
no module too long to read in one sitting.

Every import counts, lazy (inside a function) and ``if TYPE_CHECKING:`` ones too: a loop hidden
behind either is still two modules that cannot be understood, or moved, apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cases", "calendars", "notifiers", "scheduler", "web", "cli", "sim", "emulator")
SCRIPTS = ("main", "demo", "settings", "logging_setup")
MAX_LINES = 400
#: what each layer may import from the project (the domain nothing but itself)
INWARD = {"cases": {"cases"}}


def product_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    for script in SCRIPTS:
        if (ROOT / f"{script}.py").exists():
            modules[script] = ROOT / f"{script}.py"
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or of one that imports
    itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_a_loop_when_there_is_one() -> None:
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert loops({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other_directly_or_around_a_loop() -> None:
    assert loops(import_graph()) == []


@pytest.mark.parametrize("layer", sorted(INWARD))
def test_the_domain_imports_nothing_outward(layer: str) -> None:
    outward = {
        f"{name} -> {target}"
        for name, targets in import_graph().items() if name.split(".")[0] == layer
        for target in targets if target.split(".")[0] not in INWARD[layer]
    }  # fmt: skip
    assert sorted(outward) == []


def test_no_product_module_is_longer_than_it_can_be_read() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in product_modules().values()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
