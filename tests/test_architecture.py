"""The layout's rules, checked over every import statement of every module.

ARCHITECTURE.md, "Layout": floors, bottom to top, and a module imports only from its
own floor or below; no import circle, not even inside a function. The import graph
is grimp's (import-linter's engine), which reads every ``import`` in a module's AST,
function-level and ``TYPE_CHECKING`` ones included. Each rule is a function of the
graph, so that it is shown to fail on a small planted package too.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

import grimp
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Every Python package of the project (graphql/ is not one: it holds the SDL snapshots).
PACKAGES = (
    "core",
    "accounts",
    "tenants",
    "points",
    "campaigns",
    "redemption",
    "analytics",
    "webhooks",
    "notifications",
    "portability",
    "privacy",
    "earning",
    "dealers",
    "api",
    "frontend",
    "config",
    "devtools",
    "tests",
)
DOMAIN_APPS = (
    "accounts",
    "tenants",
    "points",
    "campaigns",
    "redemption",
    "analytics",
    "webhooks",
    "notifications",
    "portability",
    "privacy",
    "earning",
    "dealers",
)


def _is_graphql_module(module: str) -> bool:
    """A domain's GraphQL: its ``<app>.graphql`` package."""
    parts = module.split(".")
    return len(parts) > 1 and parts[1] == "graphql"


def _is_test_module(module: str) -> bool:
    return "tests" in module.split(".") or module.startswith("conftest")


# --- The rules, as functions of a graph ---------------------------------------------


def import_cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Every set of modules that import each other in a circle (Tarjan's SCCs)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(start: str) -> None:
        # Iterative, so that a deep chain cannot hit the recursion limit.
        work: list[tuple[str, Iterator[str]]] = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges[node]:
                        found.append(frozenset(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def floor_violations(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Imports that go up a floor: (importer, imported).

    - ``core`` imports no other package of ours;
    - nothing but tests and ``devtools`` imports ``config`` (wiring only: the
      settings module is read through ``django.conf.settings``);
    - a domain module outside its GraphQL package imports neither ``api`` nor any
      domain's GraphQL (``parse_link`` in a GraphQL module, imported by a view, was
      the kind of helper this forbids).
    """
    bad = []
    for importer in sorted(graph.modules):
        if _is_test_module(importer):
            continue  # tests stand on the top floor
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if _goes_up(importer, imported):
                bad.append((importer, imported))
    return bad


def _goes_up(importer: str, imported: str) -> bool:
    top, target = importer.split(".")[0], imported.split(".")[0]
    if top == "core":
        return target != "core"
    if target == "config":
        return top not in ("config", "devtools")
    if top in DOMAIN_APPS and not _is_graphql_module(importer):
        return target == "api" or _is_graphql_module(imported)
    return False


def bare_error_codes(paths: Iterable[Path], root: Path = ROOT) -> list[str]:
    """Raise sites that give a ``DomainError`` (or subclass) a bare string for its code.

    Codes are members of the domain's ``error_codes`` enum, so that a typo is an
    ``AttributeError`` at import time and every code is declared once.
    """
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", "") or getattr(node.func, "attr", "")
            first = node.args[0]
            if (
                name.endswith("Error")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.isupper()
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}({first.value!r})")
    return found


# --- The project ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    assert [sorted(cycle) for cycle in import_cycles(graph)] == []


def test_every_import_stays_on_its_floor_or_below(graph: grimp.ImportGraph) -> None:
    assert floor_violations(graph) == []


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "tests" not in path.parts and "migrations" not in path.parts:
                yield path


def test_error_codes_are_enum_members() -> None:
    assert bare_error_codes(_source_files()) == []


# --- Planted violations: each rule fails where it must -------------------------------


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> grimp.ImportGraph:
    """A small project with one violation of each rule."""
    files = {
        # core imports an app, inside a function: a floor violation
        "core/__init__.py": "",
        "core/helpers.py": "def f():\n    from shop import models\n",
        # a circle hidden in functions: shop.a -> shop.b -> shop.a
        "shop/__init__.py": "",
        "shop/a.py": "def f():\n    from shop import b\n",
        "shop/b.py": "def g():\n    import shop.a\n",
        # a domain module importing a GraphQL module and the API framework
        "shop/models.py": "from shop.graphql import types\nfrom api import mutations\n",
        "shop/graphql/__init__.py": "",
        "shop/graphql/types.py": "from shop import models\n",
        "api/__init__.py": "",
        "api/mutations.py": "",
        # the roof imported from below
        "shop/views.py": "from config import settings\n",
        "config/__init__.py": "",
        "config/settings.py": "",
        # a bare string code
        "shop/services.py": textwrap.dedent(
            """
            def refuse():
                raise ShopError("OUT_OF_STOCK", "Sold out.")
            """
        ),
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in [m for m in sys.modules if m.split(".")[0] in ("core", "shop", "api", "config")]:
        monkeypatch.delitem(sys.modules, module)
    return grimp.build_graph("core", "shop", "api", "config", cache_dir=None)


def test_planted_cycle_is_found(planted: grimp.ImportGraph) -> None:
    assert frozenset({"shop.a", "shop.b"}) in import_cycles(planted)


def test_planted_floor_violations_are_found(
    planted: grimp.ImportGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "DOMAIN_APPS", ("shop",))
    assert set(floor_violations(planted)) >= {
        ("core.helpers", "shop.models"),
        ("shop.models", "shop.graphql.types"),
        ("shop.models", "api.mutations"),
        ("shop.views", "config.settings"),
    }


def test_planted_bare_code_is_found(tmp_path: Path) -> None:
    path = ROOT / "tests" / "_planted_bare_code.py"
    path.write_text('raise ShopError("OUT_OF_STOCK", "Sold out.")\n')
    try:
        assert bare_error_codes([path]) == [
            "tests/_planted_bare_code.py:1 ShopError('OUT_OF_STOCK')"
        ]
    finally:
        path.unlink()


def test_every_folder_of_tests_is_collected_by_the_readme_command() -> None:
    """`uv run pytest` collects only pyproject's testpaths: an app whose tests are not
    listed there would never run in CI (the dealers app's were not, when it was merged)."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    options = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    folders = sorted(
        path.parent.name
        for path in root.glob("*/tests")
        if path.is_dir() and not path.parent.name.startswith(".")
    )
    assert [name for name in folders if name not in options["testpaths"]] == []
