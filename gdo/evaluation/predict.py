"""Answer benchmark questions with a VLM: greedy generation or option likelihood.

``predict(vlm, questions, kind, mode)`` returns one raw answer string per question in row
order, plus counts. Questions whose video is missing are not sent to the model: their
answer is empty, which each benchmark's rule then scores (MVBench leaves it out of the
denominator, the others count it wrong), as the evaluation harness does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gdo.benchmarks.options import letters_for
from gdo.evaluation.prompts import build_prompt
from gdo.evaluation.time_control import apply as time_control_apply
from gdo.utils.progress import progress

MODES = ("likelihood", "generate")


@dataclass
class Predictions:
    """Raw answers (row order) and what happened to the questions that got none."""

    answers: list[str]
    # Per question: the option log-probs (likelihood mode), else an empty list.
    option_scores: list[list[float]]
    # Per question: "" (answered by the model) | video_missing | too_long | media_error
    skipped: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def to_sample(row: pd.Series | dict[str, Any], kind: str) -> dict[str, Any]:
    """A ``gdo.models`` sample of one question: the harness prompt plus its media."""
    options = [str(o) for o in row["options"]]
    return {
        "question": build_prompt(str(row["question"]), options, kind),
        "options": options,
        "media_kind": row["media_kind"],
        "media": list(row["media"]),
        "uid": str(row["qid"]),
    }


def _call(fn, samples: list[dict], skipped: list[str], index: list[int]) -> list[Any]:
    """Call a batch method; a sample that is too long or has bad media is marked and skipped."""
    from gdo.media import MediaError
    from gdo.models import SampleTooLong

    results: list[Any] = [None] * len(samples)
    todo = list(range(len(samples)))
    while todo:
        try:
            out = fn([samples[i] for i in todo])
        except (SampleTooLong, MediaError) as err:
            reason = "too_long" if isinstance(err, SampleTooLong) else "media_error"
            bad = getattr(err, "index", None)
            if bad is None or not 0 <= bad < len(todo):
                # Without an index the batch is retried one sample at a time.
                if len(todo) == 1:
                    skipped[index[todo[0]]] = reason
                    return results
                for i in todo:
                    results[i] = _call(fn, [samples[i]], skipped, [index[i]])[0]
                return results
            skipped[index[todo[bad]]] = reason
            todo = todo[:bad] + todo[bad + 1 :]
            continue
        for i, r in zip(todo, out):
            results[i] = r
        break
    return results


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an accelerator (or allocator) out-of-memory error."""
    import torch

    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _length_order(samples: dict[int, dict[str, Any]]) -> list[int]:
    """Question indices, shortest prompt first (a batch holds prompts of similar length:
    little padding), the questions of one video next to each other (their video can go
    through the vision tower once). Each question's scores do not depend on its batch-mates."""

    def media(i: int) -> tuple:
        return (samples[i].get("media_kind"), tuple(samples[i].get("media") or ()))

    shortest: dict[tuple, int] = {}
    for i in samples:
        shortest[media(i)] = min(shortest.get(media(i), 1 << 30), len(samples[i]["question"]))
    return sorted(
        samples, key=lambda i: (shortest[media(i)], media(i), len(samples[i]["question"]), i)
    )


def predict(
    vlm: Any,
    questions: pd.DataFrame,
    kind: str,
    mode: str = "likelihood",
    *,
    batch_size: int = 16,
    max_new_tokens: int = 16,
    likelihood_target: str = "text",
    desc: str = "",
    samples: list[dict[str, Any] | None] | None = None,
    time_control: str = "none",
) -> Predictions:
    """Answer every question; see the module docstring for missing media.

    ``generate``: greedy decoding of the harness prompt, the raw text is the answer.
    ``likelihood``: ``vlm.score_options`` and the best option's letter as ``(B)``.
    ``samples``: the questions' samples made ahead (row order, e.g. with their frames
    decoded once per suite, ``gdo.evaluation.suite_cache``); else made here.
    Questions go to the model ``batch_size`` at a time, in order of prompt length; a batch
    that runs out of memory is retried at half the size (``counts["oom_backoffs"]``).
    ``time_control`` transforms the frames of samples made here (reversed / frozen clips,
    ``gdo.evaluation.time_control``); samples made ahead carry theirs already.
    """
    if mode not in MODES:
        raise ValueError(f"eval.mode: '{mode}'; expected one of {', '.join(MODES)}")
    n = len(questions)
    answers, scores = [""] * n, [[] for _ in range(n)]
    skipped = ["video_missing" if m else "" for m in questions["video_missing"].to_numpy()]
    made = {
        i: (samples[i] if samples is not None else None)
        or time_control_apply(to_sample(questions.iloc[i], kind), vlm, time_control)
        for i in range(n)
        if not skipped[i]
    }
    todo = _length_order(made)
    bar = progress(total=len(todo), desc=desc or f"evaluate {kind}", unit="q")
    size, backoffs, start = max(1, batch_size), 0, 0
    while start < len(todo):
        index = todo[start : start + size]
        batch = [made[i] for i in index]
        try:
            _answer_batch(vlm, mode, batch, index, answers, scores, skipped, max_new_tokens,
                          likelihood_target)  # fmt: skip
        except Exception as err:
            if not is_out_of_memory(err) or size == 1:
                raise
            size, backoffs = max(1, size // 2), backoffs + 1
            _free_accelerator_memory()
            continue
        start += len(index)
        bar.update(len(index))
    bar.close()
    counts = {
        "n": n,
        "n_video_missing": skipped.count("video_missing"),
        "n_too_long": skipped.count("too_long"),
        "n_media_error": skipped.count("media_error"),
        "oom_backoffs": backoffs,
        "batch_size": size,
    }
    return Predictions(answers=answers, option_scores=scores, skipped=skipped, counts=counts)


def _answer_batch(
    vlm: Any,
    mode: str,
    samples: list[dict[str, Any]],
    index: list[int],
    answers: list[str],
    scores: list[list[float]],
    skipped: list[str],
    max_new_tokens: int,
    likelihood_target: str,
) -> None:
    """One batch of questions through the model; answers and scores written in place."""
    if mode == "generate":
        out = _call(
            lambda s: vlm.generate(s, n=1, temperature=0.0, max_new_tokens=max_new_tokens),
            samples,
            skipped,
            index,
        )
        for i, texts in zip(index, out):
            if texts is not None:
                answers[i] = texts[0] if isinstance(texts, list | tuple) else str(texts)
        return
    out = _call(lambda s: vlm.score_options(s, target=likelihood_target), samples, skipped, index)
    for i, s, row_scores in zip(index, samples, out):
        if row_scores is None:
            continue
        arr = np.asarray(row_scores, dtype=float).reshape(-1)
        scores[i] = arr.tolist()
        answers[i] = f"({letters_for(s['options'])[int(np.argmax(arr))]})"


def _free_accelerator_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
