"""Several fine-tuned runs (seeds) against the base model, averaged per question.

    python experiments/train_uniform/compare_seeds.py WORK_DIR RUN [RUN ...]

For each question, the delta is the mean over RUNs of the final checkpoint's correctness
minus the base model's (``<work_dir>/eval/base/ckpt-0``); prints per suite and for all
four suites pooled the base accuracy (micro), the runs' mean accuracy and the mean delta
with a 95% bootstrap interval over questions (``compare.paired_delta``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from compare import BENCHMARKS, correct, paired_delta  # noqa: E402


def final_ckpt(run_dir: Path) -> Path:
    """The run's checkpoint with the most samples."""
    return max(run_dir.glob("ckpt-*"), key=lambda p: int(p.name.split("-")[1]))


def main(work_dir: str, *runs: str) -> int:
    """Print the Markdown table (arguments: see the module docstring)."""
    ev = Path(work_dir) / "eval"
    print(f"| suite (n) | base | mean of {len(runs)} runs | mean delta pp [95% CI] |")
    print("|---|---|---|---|")
    for group in [*[(b,) for b in BENCHMARKS], BENCHMARKS]:
        base: dict[str, bool] = {}
        tuned: list[dict[str, bool]] = [{} for _ in runs]
        for b in group:
            base.update(
                {f"{b}/{q}": ok for q, ok in correct(ev / "base/ckpt-0" / f"{b}.jsonl").items()}
            )
            for into, run in zip(tuned, runs, strict=True):
                got = correct(final_ckpt(ev / run) / f"{b}.jsonl")
                into.update({f"{b}/{q}": ok for q, ok in got.items()})
        mean = {q: float(np.mean([t[q] for t in tuned])) for q in base}
        delta, lo, hi, n = paired_delta(base, mean)
        name = group[0] if len(group) == 1 else "all four, micro"
        print(
            f"| {name} ({n}) | {100 * np.mean(list(base.values())):.1f} "
            f"| {100 * np.mean(list(mean.values())):.1f} | {delta:+.1f} [{lo:+.1f}, {hi:+.1f}] |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
