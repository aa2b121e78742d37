"""One registry per extension point (gdo.registries): every registered thing has its config
and docs entry, and a descriptor and a benchmark kind from outside the package plug in."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from gdo.cli import COMMANDS, conf_dir, resolve
from gdo.columns import TNC
from gdo.registries import registries

REPO = Path(__file__).resolve().parents[1]


def _yaml_files(group: str) -> list[dict]:
    return [
        yaml.safe_load(f.read_text()) or {} for f in sorted((conf_dir() / group).glob("*.yaml"))
    ]


def test_the_four_extension_points() -> None:
    assert sorted(registries()) == ["benchmark kind", "descriptor", "goal kind", "stage"]


def test_every_stage_runs_is_a_command_and_is_documented() -> None:
    from gdo.config import RunConf

    pipeline = next(
        ln for ln in (REPO / "docs/ARCHITECTURE.md").read_text().splitlines() if "─►" in ln
    )
    for name, spec in registries()["stage"].items():
        assert name in RunConf().stages, f"stage {name}: not in run.stages' default"
        assert name in re.findall(r"[a-z_]+", pipeline), (
            f"stage {name}: not in docs/ARCHITECTURE.md"
        )
        assert COMMANDS[name][0] == spec.steps[0], f"stage {name}: no `gdo {name}` command"
        for target in spec.steps:
            assert callable(resolve(target)), target


def test_every_descriptor_has_its_config_item_and_docs_row() -> None:
    items = yaml.safe_load((conf_dir() / "descriptors" / "default.yaml").read_text())["specs"]
    method = (REPO / "docs/METHOD.md").read_text()
    for name in registries()["descriptor"]:
        assert name in items, f"descriptor {name}: no item in conf/descriptors/default.yaml"
        assert f"`{name}`" in method, f"descriptor {name}: not in docs/METHOD.md's table"


def test_every_benchmark_kind_has_a_config_and_a_format_section() -> None:
    kinds = {b.get("kind") for f in _yaml_files("eval") for b in f.get("benchmarks") or []}
    formats = (REPO / "docs/FORMATS.md").read_text()
    for name in registries()["benchmark kind"]:
        assert name in kinds, f"benchmark kind {name}: no suite of conf/eval/*.yaml has it"
        assert re.search(rf"^#+ .*`kind: {name}`", formats, re.M), (
            f"{name}: no docs/FORMATS.md section"
        )


def test_every_goal_kind_has_a_goal_file_and_docs() -> None:
    kinds = {f.get("kind") for f in _yaml_files("goal")}
    method = (REPO / "docs/METHOD.md").read_text()
    for name in registries()["goal kind"]:
        assert name in kinds, f"goal kind {name}: no conf/goal/*.yaml has kind: {name}"
        assert f"`kind: {name}`" in method, f"goal kind {name}: not in docs/METHOD.md"


# A plugin module as a user would write it, outside the package: one descriptor (a word
# count of the question, no model) and one benchmark kind (a JSON list of questions).
TOY = """
from gdo.benchmarks import BenchmarkKind, Prompt, Rule, register_kind
from gdo.descriptors import Descriptor, register


@register("toy_words")
class ToyWords(Descriptor):
    sample_columns = ("toy_words",)

    def describe(self, ctx):
        return {"toy_words": [float(len(r["question"].split())) for r in ctx.rows]}


def read_toy(rec, *, file, where, stem, media, media_map, frame_subtasks):
    return {
        "qid": str(rec["id"]),
        "question": rec["q"],
        "options": list(rec["choices"]),
        "answer_letter": "ABCD"[rec["choices"].index(rec["answer"])],
        "media_kind": "none",
        "media": [],
        "variant": "toy",
        "skill": rec["skill"],
    }


register_kind(
    BenchmarkKind(
        "toy",
        group_fields=("skill",),
        rule=Rule(unit="skill"),
        read_record=read_toy,
        required=("id", "q", "choices", "answer", "skill"),
        prompt=Prompt(instruction="Pick one."),
    )
)
"""


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch):
    """The toy plugin module on sys.path, loaded through ``plugins``; unregistered after."""
    from gdo.benchmarks import kinds
    from gdo.descriptors.base import REGISTRY
    from gdo.utils.plugins import load_plugins

    (tmp_path / "toy_ext.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_plugins(["toy_ext"]) == ["toy_ext"]
    yield tmp_path
    REGISTRY.pop("toy_words", None)
    kinds._KINDS.pop("toy", None)
    sys.modules.pop("toy_ext", None)


def test_a_descriptor_from_outside_the_package(toy_plugin) -> None:
    from gdo.descriptors.registry import build
    from gdo.descriptors.runner import describe_batch

    items = build({"toy_words": {}, "temporal_necessity": {}})
    rows = [
        {"uid": "a", "question": "what happens first ?", "media_kind": "none", "media": []},
        {"uid": "b", "question": "which colour", "media_kind": "none", "media": []},
    ]
    out = describe_batch(rows, items, None, seed=0, max_frames=4)
    assert [r["toy_words"] for r in out] == [4.0, 2.0]
    assert [r[TNC] for r in out] == [1.0, 0.0]


def test_a_benchmark_kind_from_outside_the_package(toy_plugin) -> None:
    import json

    from gdo.benchmarks import read_benchmark
    from gdo.evaluation import aggregate, build_prompt

    questions = [
        {"id": i, "q": f"q{i}", "choices": ["x", "y"], "answer": "xy"[i % 2], "skill": s}
        for i, s in enumerate(["a", "a", "a", "b"])
    ]
    path = toy_plugin / "toy.json"
    path.write_text(json.dumps(questions))
    table = read_benchmark(path, "toy")
    assert list(table["answer_letter"]) == ["A", "B", "A", "B"]
    assert list(table["skill"]) == ["a", "a", "a", "b"]
    assert build_prompt("q0", ["x", "y"], "toy") == "q0\n(A) x\n(B) y\nPick one."
    # Right on 2 of 3 "a" questions and on the "b" one: macro over skill = (66.7 + 100) / 2.
    result = aggregate(table, ["A", "A", "A", "B"], "toy")
    assert result["overall"] == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert set(result["groups"]["skill"]) == {"a", "b"}


def test_an_unknown_plugin_fails_with_its_name() -> None:
    from gdo.utils.errors import ConfigError
    from gdo.utils.plugins import load_plugins

    with pytest.raises(ConfigError, match="plugins: cannot import 'no_such_module_xyz'"):
        load_plugins(["no_such_module_xyz"])
