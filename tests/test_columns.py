"""Column names live in gdo/columns.py: no descriptor or score column is spelt out as a
bare string anywhere else in gdo/ (a new one fails here, with its file and line)."""

from __future__ import annotations

import ast
from pathlib import Path

from gdo import columns

PACKAGE = Path(__file__).resolve().parents[1] / "gdo"
HOME = PACKAGE / "columns.py"

# The names a string may not spell out elsewhere. Generic words that are also stage names
# or config keys (q, score, base, temporal, status, error, difficulty, ...) are left out:
# they would flag every `gdo score` and `weights.difficulty`.
GUARDED = {
    *columns.DESCRIPTORS,
    columns.CLUSTER_ID,
    *columns.RGB_STATS,
    columns.Z_Q,
    columns.VDS3,
    columns.SC_USED,
    columns.SC_FALLBACK,
    columns.Z_PPL,
    columns.DURATION_BIN,
    columns.QLEN_BIN,
    columns.ALEN_BIN,
    columns.SOURCE_GROUP,
    columns.IS_VIDEO,
    columns.TEMPORAL_VIDEO,
    columns.TEXT_QUALITY,
    columns.TEMPORAL_BONUS,
    columns.TEXT_KEY,
    columns.SCORE_VIDEO,
    columns.SCORE_IMAGE,
    columns.GOAL_SCORE,
    columns.SELECT_STEP,
}
PREFIXES = (columns.GOAL_REL, columns.Z)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name a column)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def bare_column_strings(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """``file:line: 'name'`` for every string constant in ``path`` that spells a guarded
    column, or starts with a column prefix (``goal_rel_``, ``z_``; f-strings included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in skip:
            continue
        if node.value in GUARDED or node.value.startswith(PREFIXES):
            hits.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return hits


def test_no_column_name_is_spelt_out_outside_gdo_columns() -> None:
    hits = [h for p in sorted(PACKAGE.rglob("*.py")) if p != HOME for h in bare_column_strings(p)]
    assert not hits, "use the constants of gdo/columns.py:\n" + "\n".join(hits)


def test_the_scan_finds_a_bare_column(tmp_path: Path) -> None:
    # The check above must be able to fail: a spelt-out column, a prefix in an f-string.
    module = tmp_path / "x.py"
    module.write_text('"""Docstring: vds is fine here."""\nA = "vds"\nB = f"goal_rel_{A}"\n')
    hits = bare_column_strings(module, tmp_path)
    assert hits == ["x.py:2: 'vds'", "x.py:3: 'goal_rel_'"]


def test_descriptor_columns_are_the_registered_descriptors_columns() -> None:
    # The module's list is what the descriptors produce (no stale or missing name).
    from gdo.descriptors.base import REGISTRY
    from gdo.descriptors.registry import load_all

    load_all()
    own = [cls for cls in REGISTRY.values() if cls.__module__.startswith("gdo.descriptors.")]
    produced = {c for cls in own for c in (*cls.sample_columns, *cls.pool_columns)}
    assert set(columns.DESCRIPTORS) | {columns.CLUSTER_ID, *columns.RGB_STATS} == produced
