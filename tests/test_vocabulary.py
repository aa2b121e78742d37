"""One name per concept: docs/ARCHITECTURE.md's vocabulary has a row for every stage and
every descriptor, and no two config schemas share a class name."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def vocabulary() -> str:
    """The "Vocabulary" section of docs/ARCHITECTURE.md."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    start = text.index("## Vocabulary")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def first_cells(section: str, column: int) -> set[str]:
    """The backquoted names in cell ``column`` of every table row of ``section``."""
    out: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > column:
            out.update(re.findall(r"`([^`]+)`", cells[column]))
    return out


def test_every_stage_has_its_row_by_command() -> None:
    from gdo.stages import STAGES

    commands = first_cells(vocabulary(), 1)
    missing = [s.command for s in STAGES.values() if s.command not in commands]
    assert not missing, f"stages without a row in ARCHITECTURE.md's vocabulary: {missing}"


def test_every_descriptor_has_its_row_with_its_columns() -> None:
    from gdo.descriptors.base import REGISTRY
    from gdo.descriptors.registry import load_all

    load_all()
    section = vocabulary()
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in section.splitlines()
        if line.startswith("| `")
    }
    for name, cls in REGISTRY.items():
        if not cls.__module__.startswith("gdo.descriptors."):
            continue  # a plugin registered by another test
        assert name in rows, f"descriptor {name} has no row in the vocabulary"
        for column in (*cls.sample_columns, *cls.pool_columns):
            if not column.startswith("rgb_"):
                assert f"`{column}`" in rows[name], (name, column)


def test_no_two_config_schemas_share_a_class_name() -> None:
    # Two concepts under one name (the world's pre-training split and the pretrain stage's
    # recipe were both PretrainConf) read alike in errors and imports.
    names = Counter(
        node.name
        for path in (ROOT / "gdo").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Conf")
    )
    assert [n for n, k in names.items() if k > 1] == []
