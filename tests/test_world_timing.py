"""The knobs that make the demo world's temporal questions answerable at the tiny model's
time resolution (4 sampled frames = 2 time slots) and its waste detectable."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from gdo.media.sampling import uniform_indices
from gdo.utils.errors import ConfigError
from gdo.world.bench_clips import ClipMaker
from gdo.world.config import SceneConf, SourceConf, WasteConf, WorldConf
from gdo.world.pool_writer import build_pool
from gdo.world.questions import (
    check_question_variants,
    make_options,
    questions_for,
    wrong_answer,
)
from gdo.world.scene import check_scene, make_clip, render

SCENE = SceneConf(shapes=["square", "circle"], shape_size=[10, 12], objects=[1, 2],
                  distractors=[0, 0])  # fmt: skip


def colours_in(frames: np.ndarray) -> set[str]:
    """Palette colours visible in any of the frames (from pixels alone)."""
    found = set()
    for name, rgb in SCENE.colours.items():
        d = np.abs(frames.astype(int) - np.asarray(rgb)).max(axis=-1)
        if (d == 0).sum() >= 4:
            found.add(name)
    return found


def slots(frames: np.ndarray, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The model's two time slots of ``n`` uniformly sampled frames (temporal patch 2)."""
    sampled = frames[uniform_indices(len(frames), n)]
    return sampled[: n // 2], sampled[n // 2 :]


@pytest.mark.parametrize("n_frames", [8, 9, 13, 16, 33, 64])
def test_split_sequence_shows_one_colour_per_time_slot(n_frames: int) -> None:
    scene = replace(SCENE, sequence="split")
    rng = np.random.default_rng(n_frames)
    for _ in range(20):
        clip = make_clip(rng, "sequence", n_frames, scene)
        first, last = clip.appearance_order[0].colour, clip.appearance_order[-1].colour
        early, late = slots(render(clip, scene))
        assert colours_in(early) == {first} and colours_in(late) == {last}


def test_overlapping_sequence_mixes_colours_in_a_slot() -> None:
    """The default layout (kept for the default world) is what the split layout fixes."""
    rng = np.random.default_rng(0)
    mixed = 0
    for _ in range(20):
        clip = make_clip(rng, "sequence", 12, SCENE)
        mixed += max(len(colours_in(s)) for s in slots(render(clip, SCENE))) > 1
    assert mixed > 0


@pytest.mark.parametrize("n_frames", [8, 11, 16, 40, 64])
def test_change_at_middle_splits_the_colours_by_slot(n_frames: int) -> None:
    scene = replace(SCENE, change_at="middle")
    rng = np.random.default_rng(n_frames)
    for _ in range(20):
        clip = make_clip(rng, "change", n_frames, scene)
        obj = next(o for o in clip.objects if o.change_at >= 0)
        early, late = slots(render(clip, scene))
        assert obj.colour in colours_in(early) and obj.new_colour not in colours_in(early)
        assert obj.new_colour in colours_in(late) and obj.colour not in colours_in(late)


def test_scene_layout_names_are_checked() -> None:
    with pytest.raises(ConfigError, match="world.scene.sequence"):
        check_scene(replace(SCENE, sequence="halves"))
    with pytest.raises(ConfigError, match="world.scene.change_at"):
        check_scene(replace(SCENE, change_at="end"))


def test_question_variants_keep_only_the_named_variants() -> None:
    scene = replace(SCENE, sequence="split", objects=[3, 3])
    kept = {"appearance_order": ["last"]}
    for seed in range(10):
        clip = make_clip(np.random.default_rng(seed), "sequence", 12, scene)
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        every = questions_for(clip, a, scene)
        only = questions_for(clip, b, scene, kept)
        assert {q.variant for q in every} == {"first", "second", "last"}
        assert [q.variant for q in only] == ["last"]
        assert a.random() == b.random()  # the same draws either way


def test_question_variants_are_checked() -> None:
    check_question_variants({"state_change": ["end"]})
    with pytest.raises(ConfigError, match="question_variants.colour"):
        check_question_variants({"colour": ["red"]})
    with pytest.raises(ConfigError, match="question_variants.state_change"):
        check_question_variants({"state_change": ["middle"]})


def test_contradicted_wrong_answers_are_off_screen() -> None:
    rng = np.random.default_rng(0)
    scene = replace(SCENE, sequence="split")
    for _ in range(50):
        clip = make_clip(rng, "sequence", 12, scene)
        (qa,) = questions_for(clip, rng, scene, {"appearance_order": ["last"]})
        options = make_options(rng, qa, 4)
        on_screen = {o.colour for o in clip.objects}
        for opts in (options, None):
            wrong = wrong_answer(rng, qa, opts, "contradicted")
            assert wrong != qa.answer and wrong not in on_screen


def test_benchmark_answers_are_balanced_for_every_type() -> None:
    scene = replace(SCENE, sequence="split", change_at="middle")
    for balance, limit in (("all", 1), ("counts", None)):
        maker = ClipMaker(np.random.default_rng(1), scene, set(), "mp4v", Counter(),
                          {"state_change": ["end"]}, balance)  # fmt: skip
        answers = Counter(maker.draw("state_change", (8, 16), 4)[2][0].qa.answer
                          for _ in range(80))  # fmt: skip
        spread = max(answers.values()) - min(answers.values())
        if limit is not None:
            assert len(answers) == len(scene.colours) and spread <= limit
        else:
            assert spread > 1  # unbalanced draws are what "all" fixes


def test_static_questions_can_stay_off_change_clips(tmp_path) -> None:
    def world(scenarios: list[str]) -> WorldConf:
        src = SourceConf(name="s", duration="0_30_s", clips=40, waste=WasteConf())
        return WorldConf(
            scene=SCENE,
            sources=[src],
            question_mix={"state_change": 0.2, "colour": 1.0, "count": 1.0, "existence": 0.0,
                          "appearance_order": 0.0, "moving_count": 0.0,
                          "motion_direction": 0.0},
            static_question_scenarios=scenarios,
        )  # fmt: skip

    def change_clips(scenarios: list[str]) -> int:
        out = build_pool(world(scenarios), tmp_path / "-".join(scenarios))
        return len({r["clip_id"] for r in out.truth if r["scenario"] == "change"})

    assert change_clips(["motion"]) < change_clips(["motion", "change"])
    with pytest.raises(ConfigError, match="static_question_scenarios"):
        build_pool(world(["static"]), tmp_path / "bad")
