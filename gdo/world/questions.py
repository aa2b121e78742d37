"""Question types of the world: which questions a clip supports and their true answers.

Answers are colours, small counts, yes/no or a direction: a tiny VLM can learn colours
and order, not shape names (experiments/calibration/README.md). Each question type records
whether it needs several frames (``temporal``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from gdo.world.config import QTYPES, TEMPORAL_QTYPES, SceneConf
from gdo.world.scene import Clip

# Paraphrases per (qtype, variant); a near-duplicate uses another paraphrase of the same.
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("appearance_order", "first"): (
        "what colour appears first?",
        "which colour is the first shape to appear?",
        "what is the colour of the shape that appears first?",
    ),
    ("appearance_order", "second"): (
        "what colour appears second?",
        "which colour is the second shape to appear?",
        "what is the colour of the shape that appears second?",
    ),
    ("appearance_order", "last"): (
        "what colour appears last?",
        "which colour is the last shape to appear?",
        "what is the colour of the shape that appears last?",
    ),
    ("state_change", "start"): (
        "what colour is the {ref} at the start?",
        "what colour does the {ref} have at the start of the video?",
        "at the start, what colour is the {ref}?",
    ),
    ("state_change", "end"): (
        "what colour is the {ref} at the end?",
        "what colour does the {ref} have at the end of the video?",
        "at the end, what colour is the {ref}?",
    ),
    ("moving_count", ""): (
        "how many shapes move?",
        "how many shapes are moving?",
        "how many of the shapes move?",
    ),
    ("motion_direction", ""): (
        "which way does the {colour} shape move?",
        "in which direction does the {colour} shape move?",
        "where does the {colour} shape move to?",
    ),
    ("colour", ""): (
        "what colour is the {ref}?",
        "what is the colour of the {ref}?",
        "which colour does the {ref} have?",
    ),
    ("count", ""): (
        "how many shapes are there?",
        "how many shapes can you see?",
        "what is the number of shapes?",
    ),
    ("existence", ""): (
        "is there a {colour} shape?",
        "can you see a {colour} shape?",
        "does a {colour} shape appear?",
    ),
}
# A statement that gives the answer away (the "leaked" waste kind: VDS ~ 0).
LEAKS: dict[str, str] = {
    "appearance_order": "the {answer} shape appears {variant}.",
    "state_change": "the {ref} is {answer} at the {variant}.",
    "moving_count": "the number of moving shapes is {answer}.",
    "motion_direction": "the {colour} shape moves {answer}.",
    "colour": "the {ref} is {answer}.",
    "count": "the number of shapes is {answer}.",
    "existence_yes": "there is a {colour} shape.",
    "existence_no": "there is no {colour} shape.",
}
YES_NO = ["yes", "no"]
MAX_COUNT = 6


@dataclass
class QA:
    """One question about a clip, its true answer and the answers it could have."""

    qtype: str
    variant: str
    question: str  # the first paraphrase, formatted
    answer: str
    space: list[str]  # every answer this question could have (options, wrong answers)
    near: list[str] = field(default_factory=list)  # hard distractors (e.g. colours on screen)
    paraphrases: tuple[str, ...] = ()
    leak: str = ""

    @property
    def temporal(self) -> bool:
        """Whether the question needs several frames (the paper's temporal tag)."""
        return self.qtype in TEMPORAL_QTYPES

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the question within its clip (paraphrases share it)."""
        return (self.qtype, self.variant)


def _qa(
    qtype: str,
    variant: str,
    answer: str,
    space: list[str],
    near: list[str] | None = None,
    *,
    template: str | None = None,
    **slots: str,
) -> QA:
    """A QA whose paraphrases come from ``TEMPLATES[(qtype, template or variant)]``."""
    texts = tuple(
        t.format(**slots) for t in TEMPLATES[(qtype, variant if template is None else template)]
    )
    leak_key = f"{qtype}_{answer}" if qtype == "existence" else qtype
    leak = LEAKS[leak_key].format(answer=answer, variant=variant, **slots)
    return QA(qtype, variant, texts[0], answer, space, list(near or []), texts, leak)


def questions_for(
    clip: Clip,
    rng: np.random.Generator,
    scene: SceneConf,
    variants: dict[str, list[str]] | None = None,
) -> list[QA]:
    """Every question the clip supports, with true answers computed from its objects.

    ``variants`` (``world.question_variants``) keeps only the named variants of a question
    type (e.g. ``{"appearance_order": ["first"]}``); the random draws are the same either
    way, so restricting variants changes no other question.
    """
    out = _all_questions(clip, rng, scene)
    if not variants:
        return out
    return [q for q in out if q.qtype not in variants or q.variant in variants[q.qtype]]


def check_question_variants(variants: dict[str, list[str]]) -> None:
    """Fail on unknown question types or variants in ``world.question_variants``."""
    from gdo.utils.errors import ConfigError

    known: dict[str, set[str]] = {}
    for qtype, variant in TEMPLATES:
        if variant:
            known.setdefault(qtype, set()).add(variant)
    for qtype, names in variants.items():
        if qtype not in known:
            raise ConfigError(
                f"world.question_variants.{qtype}: expected one of {sorted(known)} "
                "(types with variants)"
            )
        bad = [v for v in names if v not in known[qtype]]
        if bad or not names:
            raise ConfigError(
                f"world.question_variants.{qtype}: expected a non-empty list of "
                f"{sorted(known[qtype])}, got {list(names)}"
            )


def _all_questions(clip: Clip, rng: np.random.Generator, scene: SceneConf) -> list[QA]:
    colours = list(scene.colours)
    on_screen = sorted(
        {o.colour for o in clip.objects} | {o.new_colour for o in clip.objects if o.new_colour}
    )
    counts = [str(i) for i in range(MAX_COUNT + 1)]
    out: list[QA] = []
    objs = clip.objects
    if clip.scenario == "sequence":
        order = clip.appearance_order
        if len(order) >= 2:
            out.append(_qa("appearance_order", "first", order[0].colour, colours, on_screen))
            out.append(_qa("appearance_order", "last", order[-1].colour, colours, on_screen))
        if len(order) >= 3:
            out.append(_qa("appearance_order", "second", order[1].colour, colours, on_screen))
        return out
    if clip.scenario == "change":
        target = next((o for o in objs if o.change_at >= 0), None)
        if target is not None:
            ref = "shape" if len(objs) == 1 else target.shape
            near = [target.colour, target.new_colour] + on_screen
            out.append(_qa("state_change", "start", target.colour, colours, near, ref=ref))
            out.append(_qa("state_change", "end", target.new_colour, colours, near, ref=ref))
    if clip.scenario == "motion":
        moving = [o for o in objs if o.moving]
        # At least six counts so that suites with up to six options can be built.
        space = counts[: max(len(objs) + 2, 6)]
        out.append(_qa("moving_count", "", str(len(moving)), space))
        for o in moving:
            out.append(
                _qa(
                    "motion_direction",
                    o.colour,
                    o.direction,
                    list(scene.directions),
                    colour=o.colour,
                    template="",
                )
            )
    # Static questions: only about shapes whose colour never changes.
    shape_counts = Counter(o.shape for o in objs)
    for o in objs:
        if o.change_at >= 0:
            continue
        if len(objs) == 1:
            ref = "shape"
        elif shape_counts[o.shape] == 1:
            ref = o.shape
        else:
            continue
        out.append(_qa("colour", ref, o.colour, colours, on_screen, ref=ref, template=""))
    out.append(
        _qa("count", "", str(len(objs)), counts, [str(max(len(objs) - 1, 0)), str(len(objs) + 1)])
    )
    if clip.scenario != "change":
        present = sorted({o.colour for o in objs})
        absent = [c for c in colours if c not in present]
        pick_present = bool(rng.random() < 0.5) or not absent
        colour = str(rng.choice(present if pick_present else absent))
        answer = "yes" if pick_present else "no"
        out.append(_qa("existence", colour, answer, YES_NO, colour=colour, template=""))
    return out


def check_question_mix(mix: dict[str, float], where: str) -> None:
    """Fail on unknown question types or negative weights (naming the config key)."""
    from gdo.utils.errors import ConfigError

    for k, v in mix.items():
        if k not in QTYPES:
            raise ConfigError(f"{where}: unknown question type '{k}' (expected one of {QTYPES})")
        if v < 0:
            raise ConfigError(f"{where}.{k}: weight must be >= 0, got {v}")


def asked_as_mc(qa: QA, n_options: int) -> bool:
    """Whether a pool or pre-training question may be multiple choice: only with a full set
    of ``n_options`` letters. A yes/no question as two-option multiple choice answers A or
    B, never C or D: on the demo world 29% of the pool's multiple-choice answers, which
    tilted the letter prior a fine-tune learns toward A and B (a uniform draw then
    preferred A/B on every suite, skill or not); such questions stay open-ended."""
    return len(qa.space) >= n_options


def make_options(
    rng: np.random.Generator, qa: QA, n: int, answer_index: int | None = None
) -> list[str]:
    """``n`` distinct options (fewer if the answer space is smaller) containing the answer.

    Hard distractors (``qa.near``) come first; ``answer_index`` places the answer (used to
    balance answer letters in benchmarks), else its position is random.
    """
    pool = [a for a in dict.fromkeys(qa.near) if a != qa.answer and a in qa.space]
    rest = [a for a in qa.space if a != qa.answer and a not in pool]
    rng.shuffle(rest)
    n = min(n, len(qa.space))
    distractors = (pool + rest)[: n - 1]
    rng.shuffle(distractors)
    pos = int(rng.integers(0, n)) if answer_index is None else answer_index % n
    return distractors[:pos] + [qa.answer] + distractors[pos:]


def wrong_answer(
    rng: np.random.Generator,
    qa: QA,
    options: list[str] | None = None,
    style: str = "any",
) -> str:
    """Another answer from the options (MC) or the answer space (open-ended).

    ``style`` ``contradicted`` avoids the question's hard distractors (``qa.near``, e.g.
    the colours on screen) where another answer is left: the label is then one the media
    contradicts, a mislabel a model that sees the media can spot (high loss), rather than
    a swap of two on-screen answers that only a model with the skill could.
    """
    choices = [a for a in (options or qa.space) if a != qa.answer]
    if style == "contradicted":
        far = [a for a in choices if a not in qa.near]
        choices = far or choices
    return str(rng.choice(choices))
