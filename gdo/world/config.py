"""Schema of ``conf/world/*.yaml`` (the embedded synthetic world). Owned by gdo.world.

Every knob is documented in ``conf/world/default.yaml``; this module only types them so a
typo in a preset fails with the key's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DURATIONS = ("image", "0_30_s", "30_60_s", "1_2_m", "2_3_m")
TEMPORAL_QTYPES = ("appearance_order", "state_change", "moving_count", "motion_direction")
STATIC_QTYPES = ("colour", "count", "existence")
QTYPES = TEMPORAL_QTYPES + STATIC_QTYPES


def _colours() -> dict[str, list[int]]:
    return {
        "red": [230, 30, 30],
        "green": [30, 200, 40],
        "blue": [40, 80, 255],
        "yellow": [240, 230, 30],
        "purple": [170, 40, 220],
        "orange": [250, 140, 20],
        "white": [245, 245, 245],
        "cyan": [30, 220, 220],
    }


@dataclass
class WasteConf:
    """Waste rates of a source (kinds are exclusive; a candidate has at most one).

    ``static``: share of the source's video clips that are still (every question on them is
    static waste). ``duplicate`` / ``leaked`` / ``wrong``: expected share of the questions
    of the other clips (and of images).
    """

    duplicate: float = 0.0
    leaked: float = 0.0
    static: float = 0.0
    wrong: float = 0.0
    # Share of duplicates that repeat the question verbatim (the rest are paraphrases).
    duplicate_identical: float = 0.5


@dataclass
class SourceConf:
    """One pool source: ``{duration}_{name}`` (video) or ``image_{name}`` (images)."""

    name: str = "shapes"
    duration: str = "0_30_s"
    clips: int = 100
    qa_min: int = 2
    qa_max: int = 6
    mc_share: float = 0.4
    waste: WasteConf = field(default_factory=WasteConf)
    # Per-source overrides of the world's question mix (qtype -> weight).
    question_mix: dict[str, float] = field(default_factory=dict)


@dataclass
class SceneConf:
    """What a clip looks like: canvas, objects, motion."""

    canvas: int = 32
    grid: int = 0
    shapes: list[str] = field(default_factory=lambda: ["square", "circle", "triangle", "diamond"])
    colours: dict[str, list[int]] = field(default_factory=_colours)
    shape_size: list[int] = field(default_factory=lambda: [8, 10])
    objects: list[int] = field(default_factory=lambda: [1, 3])
    distractors: list[int] = field(default_factory=lambda: [0, 1])
    travel: int = 16
    directions: list[str] = field(default_factory=lambda: ["left", "right", "up", "down"])
    short_frames: list[int] = field(default_factory=lambda: [8, 16])
    long_frames: list[int] = field(default_factory=lambda: [32, 64])
    # Sequence clips: ``overlap`` (shape i on screen from segment i to i + 2 of n + 1) or
    # ``split`` (shape i alone in its own segment i of n: with 2 shapes, the halves).
    sequence: str = "overlap"
    # When the shape of a change clip changes colour: ``third`` (a frame drawn in the middle
    # third) or ``middle`` (exactly half-way, so that the first and second half of any
    # uniformly sampled frames show one colour each).
    change_at: str = "third"


@dataclass
class BenchmarkSizes:
    """Questions per held-out suite and the frames of their clips."""

    mvbench_per_subtask: int = 40
    mvbench_subtasks: list[str] = field(
        default_factory=lambda: [
            "action_sequence",
            "state_change",
            "moving_count",
            "moving_direction",
            "object_existence",
        ]
    )
    videomme_videos: int = 80
    videomme_questions_per_video: int = 3
    # Question types of the main question of each Video-MME / LVBench video (in turn).
    videomme_qtypes: list[str] = field(
        default_factory=lambda: [
            "appearance_order",
            "state_change",
            "moving_count",
            "motion_direction",
            "colour",
            "count",
        ]
    )
    mlvu: int = 200
    # MLVU task types asked (in turn); known: order, plotQA, count, anomaly_reco, needleQA,
    # topic_reasoning.
    mlvu_tasks: list[str] = field(
        default_factory=lambda: [
            "order",
            "plotQA",
            "count",
            "anomaly_reco",
            "needleQA",
            "topic_reasoning",
        ]
    )
    mlvu_options: list[int] = field(default_factory=lambda: [4, 6])
    lvbench_videos: int = 56
    lvbench_questions_per_video: int = 3
    lvbench_frames: list[int] = field(default_factory=lambda: [48, 64])
    lvbench_qtypes: list[str] = field(
        default_factory=lambda: [
            "appearance_order",
            "state_change",
            "moving_count",
            "motion_direction",
            "colour",
            "count",
        ]
    )
    # Answer texts balanced within each question type's main questions: ``all`` types, or
    # ``counts`` (count and moving_count only).
    balance: str = "all"
    seed_offset: int = 1000


@dataclass
class PretrainSplitConf:
    """The generic perception split used to pre-train the tiny base model."""

    images: int = 1500
    videos: int = 1500
    qa_max: int = 2
    # Share of questions with the answer stated in them (the pool's "leaked" form), so the
    # base model learns to read an answer from the text: blind loss ~ visual loss there.
    leaked: float = 0.0
    # Share of those leaked questions also written as a text-only record (no media), as
    # real VLM pre-training mixes in text-only instructions: without any, the blind
    # (text-only) prompt of VDS is one the base never saw, and it does not read the answer.
    text_only: float = 0.0
    distractors: list[int] = field(default_factory=lambda: [0, 0])
    question_mix: dict[str, float] = field(
        default_factory=lambda: {
            "colour": 1.0,
            "count": 1.0,
            "existence": 0.5,
            "appearance_order": 1.0,
            "state_change": 1.0,
            "moving_count": 0.5,
            "motion_direction": 0.0,
        }
    )
    seed_offset: int = 5000


@dataclass
class CustomSetConf:
    """The custom question set ``gdo world custom`` writes (gdo.world.custom): one skill."""

    name: str = "appearance_order"  # its folder: <world_dir>/custom/<name>/
    qtype: str = "appearance_order"  # one world question type (QTYPES), the "skill"
    size: int = 200  # questions, one clip each
    n_options: int = 4  # 2 to 6
    frames: tuple[int, int] = (8, 16)  # frames per clip [min, max]: short videos
    seconds: tuple[float, float] = (5.0, 30.0)  # clip duration [min, max]
    # Random stream [world.seed, seed_offset]: benchmarks use 1000, pretrain 5000.
    seed_offset: int = 7000


@dataclass
class WorldConf:
    """The whole world: scene, question mix, pool sources, benchmarks, pretrain split."""

    name: str = "default"
    seed: int = 0
    scene: SceneConf = field(default_factory=SceneConf)
    n_options: int = 4
    mc_answer: str = "letter_text"
    # Layouts multiple-choice questions are written in (pool and pre-training), one drawn
    # per question: gdo.world.formats.MC_STYLES (llava | question_option | paren |
    # paren_letter).
    mc_styles: list[str] = field(default_factory=lambda: ["llava"])
    # Wrong-answer waste: ``any`` other answer, or ``contradicted`` (one the media rules out,
    # e.g. a colour not on screen), which a model that sees the media can flag.
    wrong_answer: str = "any"
    question_mix: dict[str, float] = field(
        default_factory=lambda: {
            "appearance_order": 1.3,
            "state_change": 1.0,
            "moving_count": 0.6,
            "motion_direction": 0.3,
            "colour": 1.0,
            "count": 0.6,
            "existence": 0.5,
        }
    )
    image_question_mix: dict[str, float] = field(
        default_factory=lambda: {"colour": 1.0, "count": 1.0, "existence": 0.6}
    )
    # Which variants of a question type are asked (pool, pretrain and benchmarks); a type
    # not named keeps all of its variants: appearance_order first | second | last,
    # state_change start | end.
    question_variants: dict[str, list[str]] = field(default_factory=dict)
    # Clips a video's static main question (colour, count, existence) is asked about when
    # the clip is not still: shapes that move, or a shape that changes colour (whose
    # state-change question then joins the clip's other questions).
    static_question_scenarios: list[str] = field(default_factory=lambda: ["motion", "change"])
    sources: list[SourceConf] = field(default_factory=lambda: [SourceConf()])
    benchmarks: BenchmarkSizes = field(default_factory=BenchmarkSizes)
    pretrain: PretrainSplitConf = field(default_factory=PretrainSplitConf)
    verify_videos: int = 32
    codec: str = "mp4v"
    notes: dict[str, Any] = field(default_factory=dict)
    # Written by `gdo world custom`, not by `gdo world`: an artifact of its own, with its own
    # key, so it is left out of the world's key (gdo.world.stage.world_key).
    custom_set: CustomSetConf = field(default_factory=CustomSetConf)
