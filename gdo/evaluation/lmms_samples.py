"""Per-question results from lmms-eval's sample logs (``--log_samples``).

With ``--log_samples`` the harness writes, next to ``<date_id>_results.json``, one
``<date_id>_samples_<task>.jsonl`` per task (an MVBench group: one per subtask,
``mvbench_<subtask>``). Each line holds ``doc_id``, ``target``, ``filtered_resps`` (the
answer), ``doc_hash`` and the task's metric value: MVBench ``{pred_answer, gt_answer,
score}``, Video-MME ``{question_id, duration, category, sub_category, task_category,
pred_answer, answer}``, MLVU ``{task_type, pred_answer, answer}``, LVBench a 0/1.

:func:`question_rows` turns them into the rows ``gdo evaluate`` writes per question
(``qid, pred, letter, answered, correct`` + the benchmark's group fields), so imported
runs get bootstrap intervals and paired deltas. Question ids are the harness's own
(``<subtask>/<doc_id>`` for MVBench, Video-MME's ``question_id``, else ``doc_id``):
stable across checkpoints of one harness version, which is what the pairing needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.utils.errors import InputError

# Video-MME's metric fields -> gdo's group fields.
_VIDEOMME_FIELDS = {
    "duration": "duration",
    "category": "domain",
    "sub_category": "sub_category",
    "task_category": "task_type",
}


def sample_logs(results_file: Path, task: str) -> dict[str, Path]:
    """task -> sample log of one results file's run (a group: each ``<task>_*`` log).

    Logs share the results file's ``<date_id>`` prefix; without one (a renamed file) the
    newest log of each task in its folder is taken.
    """
    folder = results_file.parent
    stem = results_file.name
    date_id = stem[: -len("_results.json")] if stem.endswith("_results.json") else None
    found: dict[str, Path] = {}
    for pattern in (f"*_samples_{task}.jsonl", f"*_samples_{task}_*.jsonl"):
        for path in sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime):
            prefix, _, name = path.name.partition("_samples_")
            if date_id is None or prefix == date_id:
                found[name.removesuffix(".jsonl")] = path  # newest wins
        if found:
            break
    return found


def read_log(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of one sample log (:class:`InputError` naming the bad line)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(
                    str(path), f"line {n}", None, "a JSON object", reason=str(err)
                ) from None
            if not isinstance(row, dict) or "doc_id" not in row:
                raise InputError(
                    str(path), f"line {n}", "doc_id", "an lmms-eval sample with doc_id"
                )
            rows.append(row)
    return rows


def question_rows(kind: str, task: str, metric: str, logs: dict[str, Path]) -> pd.DataFrame:
    """gdo's per-question rows of one benchmark from its sample logs (``task`` -> file)."""
    out = []
    for sub, path in sorted(logs.items()):
        subtask = sub.removeprefix(f"{task}_") if sub != task else ""
        for row in read_log(path):
            value = _metric_value(row, metric, path)
            out.append(_question(kind, sub, subtask, row, value))
    return pd.DataFrame(out)


def _metric_value(row: dict[str, Any], metric: str, path: Path) -> Any:
    for key, value in row.items():
        if key.split(",")[0] == metric:
            return value
    raise InputError(str(path), f"doc_id {row['doc_id']}", metric, "the task's metric value")


def _question(kind: str, task: str, subtask: str, row: dict[str, Any], value: Any) -> dict:
    pred = row.get("filtered_resps", row.get("resps", ""))
    while isinstance(pred, list):  # [[text]] / [text] depending on the harness version
        pred = pred[0] if pred else ""
    pred = "" if pred is None else str(pred)
    doc = str(row["doc_id"])
    q: dict[str, Any] = {"qid": f"{subtask}/{doc}" if subtask else doc, "pred": pred}
    if isinstance(value, dict):
        letter = str(value.get("pred_answer") or "")
        if "score" in value:  # MVBench: the harness already compared the answer
            correct = bool(value["score"])
        else:
            correct = letter != "" and letter == str(value.get("answer", value.get("gt_answer")))
        q.update(letter=letter, answered=letter != "", correct=correct)
        if kind == "videomme":
            if value.get("question_id") not in (None, ""):
                q["qid"] = str(value["question_id"])
            q.update({gdo: str(value.get(k, "")) for k, gdo in _VIDEOMME_FIELDS.items()})
        if kind == "mlvu":
            q["task_type"] = str(value.get("task_type", ""))
    else:  # LVBench: 0/1 (True/False) per question
        q.update(letter="", answered=pred.strip() != "", correct=bool(value))
    if kind == "mvbench":
        q["subtask"] = subtask or task
    return q
