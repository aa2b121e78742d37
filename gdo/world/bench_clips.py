"""Held-out clips and questions for the benchmark suites (other seeds, never a pool clip).

Benchmarks carry no waste and balance their answer letters: the correct option's
position cycles through the letters within each question type (and option count), so a
letter prior scores chance on every type, not only on a whole suite, and the answer
texts of each question type's main questions are balanced (``benchmarks.balance``:
every type, or count types only), so a constant answer ("1", "red") scores chance too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdo.world.config import QTYPES, SceneConf
from gdo.world.media_io import write_video
from gdo.world.pool_writer import SCENARIO_OF
from gdo.world.questions import QA, make_options, questions_for
from gdo.world.scene import Clip, frames_hash, make_clip, render

_MAX_REDRAWS = 400
# Question types whose main question's answers are kept balanced with ``balance: counts``.
BALANCED_QTYPES = ("moving_count", "count")
BALANCE_MODES = ("all", "counts")


@dataclass
class BenchQuestion:
    """One benchmark question: the QA, its options (answer placed by letter balance)."""

    qa: QA
    options: list[str]

    @property
    def letter(self) -> str:
        """Letter of the correct option."""
        return "ABCDEF"[self.options.index(self.qa.answer)]


class ClipMaker:
    """Draws held-out clips whose content is in no forbidden set (pool, pretrain, suites)."""

    def __init__(
        self,
        rng: np.random.Generator,
        scene: SceneConf,
        forbidden: set[str],
        codec: str,
        counts: Counter,
        variants: dict[str, list[str]] | None = None,
        balance: str = "all",
    ) -> None:
        self.rng, self.scene, self.forbidden = rng, scene, forbidden
        self.codec, self.counts = codec, counts
        self.variants = variants or {}
        self.balance = balance
        # Correct-answer positions handed out so far, per (question type, option count).
        self._letter: Counter = Counter()
        # Answers of count questions asked so far (accepted) and ever drawn, per type.
        self._answers: dict[str, Counter] = {}
        self._drawn: dict[str, set[str]] = {}
        self.videos: list[tuple[Path, int]] = []

    def next_index(self, qtype: str, n_options: int) -> int:
        """Cycle the correct answer's position through the letters, separately for each
        question type: one counter for the whole suite would alias with a suite that
        cycles its question types too (four types, four letters: every colour question
        answered "C"), and a model's letter prior would then read as skill on a type."""
        key = (qtype, n_options)
        self._letter[key] += 1
        return (self._letter[key] - 1) % n_options

    def _balanced(self, qa: QA) -> bool:
        """Keep answer texts balanced: a question whose answer has been asked more often
        than another answer seen for its type is redrawn (otherwise "1" would win most of
        a moving-count suite and a constant answer would score well). ``balance: counts``
        balances the count types only."""
        if self.balance == "counts" and qa.qtype not in BALANCED_QTYPES:
            return True
        asked = self._answers.setdefault(qa.qtype, Counter())
        drawn = self._drawn.setdefault(qa.qtype, set())
        drawn.add(qa.answer)
        if asked[qa.answer] > min(asked[a] for a in drawn):
            return False
        asked[qa.answer] += 1
        return True

    def draw(
        self,
        qtype: str,
        frames: tuple[int, int],
        n_options: int,
        *,
        extra: int = 0,
        min_space: int = 2,
        extra_types: tuple[str, ...] | None = None,
    ) -> tuple[Clip, np.ndarray, list[BenchQuestion]]:
        """A fresh clip with a question of ``qtype`` and up to ``extra`` other questions
        (of ``extra_types`` when given, e.g. the suite's own question types).

        Only questions whose answer space holds ``min_space`` answers are asked, so a
        suite with a fixed number of options never gets a yes/no question.
        """
        if qtype not in QTYPES:
            raise ValueError(f"unknown question type '{qtype}' (expected one of {QTYPES})")
        rng = self.rng
        for _ in range(_MAX_REDRAWS):
            n_frames = int(rng.integers(frames[0], frames[1] + 1))
            scenario = SCENARIO_OF.get(qtype) or str(rng.choice(["motion", "change", "static"]))
            clip = make_clip(rng, scenario, n_frames, self.scene)
            cands = [
                q
                for q in questions_for(clip, rng, self.scene, self.variants)
                if len(q.space) >= min_space
            ]
            first = [q for q in cands if q.qtype == qtype]
            if not first:
                self.counts["benchmark_redraws_no_question"] += 1
                continue
            pixels = render(clip, self.scene)
            h = frames_hash(pixels)
            if h in self.forbidden:
                self.counts["benchmark_redraws_seen_clip"] += 1
                continue
            head = first[int(rng.integers(0, len(first)))]
            if not self._balanced(head):
                self.counts["benchmark_redraws_answer_balance"] += 1
                continue
            self.forbidden.add(h)
            others = [
                q
                for q in cands
                if q.key != head.key and (extra_types is None or q.qtype in extra_types)
            ]
            rng.shuffle(others)
            chosen = [head, *others[:extra]]
            qs = []
            for qa in chosen:
                n = min(n_options, len(qa.space))
                opts = make_options(rng, qa, n, answer_index=self.next_index(qa.qtype, n))
                qs.append(BenchQuestion(qa, opts))
            return clip, pixels, qs
        raise RuntimeError(f"no held-out clip with a '{qtype}' question after {_MAX_REDRAWS} draws")

    def write(self, path: Path, pixels: np.ndarray, seconds: tuple[float, float]) -> float:
        """Write a clip's video lasting a random duration in ``seconds``; return it."""
        duration = float(self.rng.uniform(*seconds))
        write_video(path, pixels, duration, self.codec)
        self.videos.append((path, len(pixels)))
        self.counts["benchmark_videos"] += 1
        return duration


def time_reference(clip: Clip, qa: QA, duration_s: float) -> str:
    """``MM:SS-MM:SS``: the part of the clip the question is about (LVBench field)."""
    per = duration_s / max(clip.n_frames, 1)
    start, end = 0, clip.n_frames
    if qa.qtype == "appearance_order":
        hit = [o for o in clip.objects if o.colour == qa.answer]
        if hit:
            start, end = hit[0].start, hit[0].end
    elif qa.qtype == "state_change":
        target = next((o for o in clip.objects if o.change_at >= 0), None)
        if target is not None:
            start, end = (
                (0, target.change_at)
                if qa.variant == "start"
                else (target.change_at, clip.n_frames)
            )

    def mmss(frame: int) -> str:
        s = int(round(frame * per))
        return f"{s // 60:02d}:{s % 60:02d}"

    return f"{mmss(start)}-{mmss(end)}"
