"""The import graph of gdo/ runs one way: no cycles, no private names across modules, and
every edge points down the layers (docs/ARCHITECTURE.md, "Layers").

The graph is read from the source (``ast``: every ``import`` and ``from ... import``, also
those inside functions), one node per module; a package's ``__init__`` is the package's
node. An exception goes into ``ALLOWED`` with the reason it is one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gdo"

# Lowest first. A module may import from its own layer and the layers below it; the
# module graph must still be acyclic. Every top-level module or package of gdo/ has a
# layer, so a new one is placed on purpose.
LAYERS: list[set[str]] = [
    {"gdo", "utils", "columns"},  # foundations (``gdo``: the root package, its version;
    # ``columns``: every table's column names)
    {"logging", "media"},
    {"models", "benchmarks"},  # the VLM; benchmark question files (read by describe too)
    {"pool", "dedup"},  # the pool stage and its near-duplicate post-step
    {"descriptors"},
    {"scoring"},
    {"selection"},
    {"training"},
    {"evaluation"},
    {"frontier"},
    # The embedded world writes inputs in the real formats (it uses the pool's uid); no stage
    # imports it: the pretrain stage reads its artifact (vocabulary.json), not its code.
    {"world"},
    # Commands and the root config, which assembles every stage's config schema.
    {
        "config",
        "cli",
        "pipeline",
        "jobs",
        "stages",
        "registries",
        "sweep",
        "sweep_resume",
        "compare",
        "inspect",
        "__main__",
    },
]
# (importing module, imported module or "module:name") -> why the exception is needed.
ALLOWED: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module that defines ``name`` (a module, or a name inside one)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, str | None]]:
    """(imported module, imported name or None) for every gdo import of ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "gdo" or alias.name.startswith("gdo."):
                    yield _owner(alias.name, known) or alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not (source == "gdo" or source.startswith("gdo.")):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in known:  # a submodule
                    yield full, None
                else:
                    yield _owner(source, known) or source, alias.name


def private_attributes(path: Path, known: dict[str, Path]) -> Iterator[tuple[str, str]]:
    """(module, name) for ``alias._name`` where ``alias`` is a gdo module bound by import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in known and a.asname:
                    bound[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in known:
                    bound[a.asname or a.name] = full
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and _is_private(node.attr)
        ):
            yield bound[node.value.id], node.attr


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        m: {t for t, _ in imports(m, p, known) if t in known and t != m} for m, p in known.items()
    }


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: its top-level name '{top}' has no layer in LAYERS")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if (v, w) in ALLOWED:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    assert len(edges) > 100  # the walk found the package
    found = cycles(edges)
    detail = [
        f"{c}: " + ", ".join(f"{a} -> {b}" for a in c for b in sorted(edges[a] & set(c)))
        for c in found
    ]
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_no_private_name_is_imported_across_modules() -> None:
    known = modules()
    bad = []
    for module, path in known.items():
        for target, name in imports(module, path, known):
            if name and _is_private(name) and target != module:
                if (module, f"{target}:{name}") not in ALLOWED:
                    bad.append(f"{module}: from {target} import {name}")
        for target, name in private_attributes(path, known):
            if target != module and (module, f"{target}:{name}") not in ALLOWED:
                bad.append(f"{module}: {target}.{name}")
    assert not bad, "private names used across modules:\n" + "\n".join(sorted(bad))


def test_every_import_points_down_the_layers() -> None:
    bad = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        for b in sorted(targets)
        if layer_of(b) > layer_of(a) and (a, b) not in ALLOWED
    ]
    assert not bad, "imports against the layers (LAYERS, lowest first):\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("from gdo.pool.readers import _private\n", "private"),
        ("import gdo.pool.readers as r\nx = r._private\n", "private"),
        ("from gdo.frontier.table import COLUMNS\n", "layer"),
    ],
)
def test_the_checks_see_what_they_look_for(tmp_path: Path, source: str, problem: str) -> None:
    # A module of the pool layer written as in ``source``, read by the same functions.
    known = modules()
    path = tmp_path / "probe.py"
    path.write_text(source)
    found = list(imports("gdo.pool.probe", path, known))
    if problem == "private":
        privates = [n for _, n in found if n and _is_private(n)]
        privates += [n for _, n in private_attributes(path, known)]
        assert privates == ["_private"]
    else:
        assert [t for t, _ in found] == ["gdo.frontier.table"]
        assert layer_of("gdo.frontier.table") > layer_of("gdo.pool.probe")


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
