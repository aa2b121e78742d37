"""Shared support (no tests): a fake VLM and a fake training folder for eval / frontier tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

FIX = Path(__file__).parent / "fixtures" / "benchmarks"


def fixture_benchmarks() -> list[dict]:
    """The four hand-made suites as ``eval.benchmarks`` entries."""
    return [
        {
            "name": "mvbench",
            "kind": "mvbench",
            "path": str(FIX / "mvbench/json"),
            "media_root": str(FIX / "mvbench/video"),
            "media_map": {"moving_count": "clevrer", "episodic_reasoning": "tvqa/frames"},
            "frame_subtasks": ["episodic_reasoning"],
            "lmms_eval_task": "mvbench",
        },
        {
            "name": "videomme",
            "kind": "videomme",
            "path": str(FIX / "videomme/videomme.parquet"),
            "media_root": str(FIX / "videomme/data"),
            "lmms_eval_task": "videomme",
        },
        {
            "name": "mlvu",
            "kind": "mlvu",
            "path": str(FIX / "mlvu/test.json"),
            "media_root": str(FIX / "mlvu/video"),
            "lmms_eval_task": "mlvu_test",
        },
        {
            "name": "lvbench",
            "kind": "lvbench",
            "path": str(FIX / "lvbench/lvbench.jsonl"),
            "media_root": str(FIX / "lvbench/video"),
            "lmms_eval_task": "lvbench",
        },
    ]


class FakeVLM:
    """Answers right with a probability set by the checkpoint (deterministic per question)."""

    def __init__(self, path: str, gold: dict[str, str], skill: float) -> None:
        self.path, self.gold, self.skill = path, gold, skill
        self.calls = 0

    def _right(self, uid: str) -> bool:
        # run/checkpoints/ckpt-N only, so that answers do not depend on the tmp folder
        key = "/".join(Path(self.path).parts[-3:])
        h = int(hashlib.sha1(f"{key}|{uid}".encode()).hexdigest()[:8], 16)
        return (h % 1000) / 1000 < self.skill

    def _letter(self, s: dict) -> int:
        gold = "ABCDEF".index(self.gold[s["uid"]])
        return gold if self._right(s["uid"]) else (gold + 1) % len(s["options"])

    def score_options(self, samples: list[dict], target: str = "text") -> list[np.ndarray]:
        self.calls += 1
        out = []
        for s in samples:
            scores = np.full(len(s["options"]), -5.0)
            scores[self._letter(s)] = -1.0
            out.append(scores)
        return out

    def generate(self, samples, n=1, temperature=0.0, top_p=1.0, max_new_tokens=32):
        self.calls += 1
        return [[f"The answer is ({'ABCDEF'[self._letter(s)]})"] for s in samples]


def make_training(work: Path, runs: dict[str, list[int]], seed: int = 0) -> None:
    """``train/<run>/checkpoints/ckpt-<samples>/gdo_state.json`` for each run + a base model."""
    for run, samples in runs.items():
        for s in samples:
            ck = work / "train" / run / "checkpoints" / f"ckpt-{s}"
            ck.mkdir(parents=True, exist_ok=True)
            (ck / "gdo_state.json").write_text(json.dumps({"samples": s, "seed": seed}))
    (work / "base_model").mkdir(parents=True, exist_ok=True)


def skill_of(path: str) -> float:
    """Accuracy grows with the samples seen; the temp_plus run learns twice as fast."""
    if path.endswith("base_model"):
        return 0.2
    samples = int(Path(path).name.split("-")[1])
    fast = 2.0 if "temp_plus" in path else 1.0
    return min(0.95, 0.2 + fast * samples / 1000)
