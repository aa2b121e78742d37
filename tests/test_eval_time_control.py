"""eval.time_control: the same questions on clips reversed in time or frozen on one frame;
eval.checkpoints=final."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gdo.evaluation import time_control
from gdo.evaluation.checkpoints import Checkpoint
from gdo.evaluation.predict import predict
from gdo.evaluation.stage import select_checkpoints
from gdo.evaluation.suite_cache import SuiteCache
from gdo.utils.errors import ConfigError


def ramp(t: int = 4) -> np.ndarray:
    """Frames whose brightness rises with time: frame k is all k * 10."""
    return np.stack([np.full((8, 8, 3), 10 * k, dtype=np.uint8) for k in range(t)])


def test_transform_reverses_or_freezes_the_sampled_frames() -> None:
    f = ramp()
    assert [int(x[0, 0, 0]) for x in time_control.transform(f, "reversed")] == [30, 20, 10, 0]
    assert [int(x[0, 0, 0]) for x in time_control.transform(f, "frozen")] == [0, 0, 0, 0]
    assert time_control.transform(f, "none") is f
    image = f[:1]
    assert time_control.transform(image, "reversed") is image
    with pytest.raises(ConfigError, match="eval.time_control"):
        time_control.check("backwards")


class TimeReader:
    """A model double that answers option A when its clip gets brighter, B when darker."""

    frames = 4
    max_pixels = 64

    def load_media(self, sample):
        return ramp()

    def score_options(self, samples, target="text"):
        out = []
        for s in samples:
            f = s["frames"] if "frames" in s else self.load_media(s)
            rising = float(f[-1].mean()) > float(f[0].mean())
            out.append(np.array([1.0, 0.0] if rising else [0.0, 1.0]))
        return out


def _questions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qid": ["q0", "q1"],
            "question": ["does it get brighter?"] * 2,
            "options": [["yes", "no"]] * 2,
            "media_kind": ["video"] * 2,
            "media": [["/clip0.mp4"], ["/clip1.mp4"]],
            "video_missing": [False, False],
        }
    )


@pytest.mark.parametrize("cached", [False, True])
def test_reversed_clips_flip_a_time_reading_answer(cached: bool) -> None:
    vlm, q = TimeReader(), _questions()
    answers = {}
    for control in ("none", "reversed", "frozen"):
        samples = None
        if cached:
            suite = SuiteCache(64.0, time_control=control).get("s", q, "custom", vlm, "p")
            samples = suite.samples
        preds = predict(vlm, q, "custom", samples=samples, time_control=control)
        answers[control] = preds.answers
    assert answers["none"] == ["(A)", "(A)"]
    assert answers["reversed"] == ["(B)", "(B)"]
    assert answers["frozen"] == ["(B)", "(B)"]  # no change over time: not "brighter"


def test_final_checkpoints_only() -> None:
    def ck(run: str, samples: int) -> Checkpoint:
        return Checkpoint(run, run, 0, samples, samples, Path(f"/{run}/{samples}"))

    cks = [ck("base", 0), ck("uniform", 10), ck("uniform", 20), ck("temp", 5), ck("temp", 3)]
    assert select_checkpoints(cks, "all") == cks
    assert [(c.run, c.samples) for c in select_checkpoints(cks, "final")] == [
        ("base", 0),
        ("uniform", 20),
        ("temp", 5),
    ]
    with pytest.raises(ConfigError, match="eval.checkpoints"):
        select_checkpoints(cks, "last")
