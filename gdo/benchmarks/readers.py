"""Readers for the four benchmark schemas (docs/FORMATS.md) and a custom one.

``read_benchmark(path, kind, media_root=None)`` returns one row per question with the
columns in :data:`QUESTION_COLUMNS` plus the benchmark's group fields
(its :class:`gdo.benchmarks.kinds.BenchmarkKind`). Where upstream is ambiguous both variants are accepted, and the
one found is recorded per row (``variant``) and in ``df.attrs["variants"]``. Video paths
must stay inside the media root (an absolute path or a ``..`` escape is refused, as in the
pool and custom readers); files are UTF-8, with or without a byte-order mark.

``path`` may also be a dataset's root folder exactly as downloaded (MVBench ``json/`` +
``video/``, Video-MME ``videomme/*.parquet`` + ``data/``, MLVU, LVBench):
:func:`gdo.benchmarks.layouts.locate` finds the question files and media folders, logs
what it found and records it in ``df.attrs["layout"]``.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.benchmarks.custom import read_custom
from gdo.benchmarks.kinds import BenchmarkKind, Prompt, Rule, get_kind, register_kind
from gdo.benchmarks.layouts import FORMS, OPEN_ENDED, MediaFinder, locate, mvbench_folders
from gdo.benchmarks.options import answer_to_letter, split_option_lines, strip_letter_prefix
from gdo.benchmarks.schema import QUESTION_COLUMNS
from gdo.media.paths import is_image_file
from gdo.utils.errors import InputError
from gdo.utils.tables import read_parquet
from gdo.utils.text import read_text

log = logging.getLogger(__name__)
VIDEOMME_GROUPS = ("duration", "domain", "sub_category", "task_type")


def read_benchmark(
    path: str | Path,
    kind: str,
    media_root: str | Path | None = None,
    *,
    media_map: dict[str, str] | None = None,
    frame_subtasks: list[str] | None = None,
) -> pd.DataFrame:
    """Read a benchmark in its real schema into one row per question.

    ``kind`` is ``mvbench | videomme | mlvu | lvbench | custom``. ``path`` is a question
    file, a folder of them, or the dataset's root folder as downloaded (the question
    files and media folders are then found, :mod:`gdo.benchmarks.layouts`, and
    described in ``df.attrs["layout"]``). ``media_root`` is the folder video paths
    resolve against (default: the question file's folder, or the media folders found
    under a dataset root). MVBench takes ``media_map`` (subtask -> video folder under
    media_root) and ``frame_subtasks`` (subtasks whose video is a folder of frames).
    Missing media are flagged (``video_missing``), not dropped. A file in the wrong
    schema raises :class:`InputError` naming the missing field and the kind expected.
    """
    spec = get_kind(kind, str(path))
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(str(path), None, None, f"a {kind} benchmark file or folder", got="nothing")
    if spec.read_file is not None:  # e.g. custom: every problem reported by line
        return spec.read_file(path, media_root)
    layout = locate(path, kind, media_root) if path.is_dir() else None
    if layout is not None:
        files = layout.questions
        media = MediaFinder(layout.media_roots, layout.root if layout.search else None)
    else:
        files = [path]
        media = MediaFinder([Path(media_root).expanduser() if media_root else path.parent])
    reader = spec.read_record
    rows = []
    for file, idx, where, rec, stem in _records(files, kind):
        missing = [f for f in spec.required if f not in rec]
        if missing:
            raise InputError(
                file,
                where,
                missing[0],
                f"a {kind} record with fields {', '.join(spec.required)}",
                reason=f"missing field '{missing[0]}'",
            )
        row = reader(
            rec,
            file=file,
            where=where,
            stem=stem,
            media=media,
            media_map=media_map or {},
            frame_subtasks=set(frame_subtasks or []),
        )
        row.update(benchmark=kind, file=file, record=idx)
        has_media = row.get("media_kind", "none") != "none"
        row["video_missing"] = has_media and (
            not row["media"] or not all(Path(m).exists() for m in row["media"])
        )
        rows.append(row)
    if not rows:
        raise InputError(str(path), None, None, f"at least one {kind} question", got="none")
    cols = QUESTION_COLUMNS + [g for g in spec.group_fields if g not in QUESTION_COLUMNS]
    df = pd.DataFrame(rows)
    for col in cols:
        if col not in df.columns:
            df[col] = ""
    extra = [c for c in df.columns if c not in cols]
    df = df[cols + extra]
    dup = df["qid"].duplicated()
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(
            first["file"],
            f"record {first['record']}",
            "qid",
            "unique question ids",
            got=first["qid"],
        )
    df.attrs["variants"] = dict(Counter(df["variant"]))
    df.attrs["kind"] = kind
    if layout is not None:
        found = layout.describe()
        found.update(questions=len(df), videos_found_by_name=media.found_by_name)
        found["video_missing"] = int(df["video_missing"].sum())
        df.attrs["layout"] = found
        log.info(
            "%s: %s in %s: %d questions from %s; media from %s (%d found by file name, "
            "%d missing)%s",
            kind,
            layout.form,
            layout.root,
            len(df),
            ", ".join(found["question_files"]),
            ", ".join(found["media_roots"]),
            media.found_by_name,
            found["video_missing"],
            f"; left out: {', '.join(found['skipped_files'])}" if layout.skipped else "",
        )
    return df


def _records(files: list[Path], kind: str) -> Iterator[tuple[str, int, str, dict, str]]:
    """(file, record index, where, record, file stem) for each question of ``files``.

    LVBench's own ``video_info.meta.jsonl`` holds one line per video with its questions
    under ``qa``: each becomes a record carrying the video's ``key`` and ``type``.
    """
    for f in files:
        for i, rec in enumerate(_load(f)):
            if not isinstance(rec, dict):
                raise InputError(
                    str(f),
                    f"record {i}",
                    None,
                    f"a {kind} record (an object)",
                    got=type(rec).__name__,
                )
            if kind == "lvbench" and "question" not in rec and isinstance(rec.get("qa"), list):
                for j, qa in enumerate(rec["qa"]):
                    if not isinstance(qa, dict):
                        raise InputError(str(f), f"record {i}", f"qa[{j}]", "a question object")
                    parent = {k: rec[k] for k in ("key", "type", "video_path") if k in rec}
                    yield str(f), i, f"record {i} qa {j}", {**parent, **qa}, f.stem
                continue
            yield str(f), i, f"record {i}", rec, f.stem


def _ordinal(where: str) -> str:
    """``record 3`` -> ``3``, ``record 3 qa 1`` -> ``3.1`` (fallback question ids)."""
    return where.removeprefix("record ").replace(" qa ", ".")


def _load(f: Path) -> list[Any]:
    if f.suffix == ".parquet":
        return read_parquet(f).to_dict("records")
    text = read_text(f)
    if f.suffix == ".jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InputError(
                        str(f), f"line {n}", None, "a JSON object", reason=str(err)
                    ) from None
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(str(f), None, None, "a JSON list of records", reason=str(err)) from None
    if isinstance(data, dict):
        # Some dumps wrap the list: {"data": [...]} / {"questions": [...]}.
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise InputError(str(f), None, None, "a JSON list of records", got="an object")
        data = lists[0]
    return list(data)


def _as_list(value: Any, *, file: str, where: str, field: str, kind: str) -> list[str]:
    if value is None:
        return []
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(
                file, where, field, f"a list of option strings ({kind})", got=value
            ) from None
    if not isinstance(value, list | tuple):
        raise InputError(file, where, field, f"a list of option strings ({kind})", got=value)
    return [str(v) for v in value]


def _frames(folder: Path) -> list[str]:
    if not folder.is_dir():
        return [str(folder)]
    return sorted(str(p) for p in folder.iterdir() if is_image_file(p))


def _mvbench(rec, *, file, where, stem, media, media_map, frame_subtasks) -> dict:
    options = _as_list(
        rec["candidates"], file=file, where=where, field="candidates", kind="mvbench"
    )
    letter, fmt = answer_to_letter(rec["answer"], options, file=file, where=where, kind="mvbench")
    subtask = str(rec.get("subtask") or stem)
    video = str(rec["video"])
    # <root>/<subtask folder>/<video> (the subtask's name, its media_map entry or, in a
    # dataset root, the release's source folder), else <root>/<video>.
    folders = [media_map[subtask]] if subtask in media_map else [subtask]
    if media.search_root is not None:
        folders = mvbench_folders(subtask, media_map.get(subtask))
    candidates = [f"{folder}/{video}" for folder in folders] + [video]
    path = media.find(candidates, file=file, where=where, field="video")
    is_frames = subtask in frame_subtasks or path.is_dir()
    question, _ = split_option_lines(str(rec["question"]))
    row = {
        "qid": f"{subtask}/{rec.get('qid', _ordinal(where))}",
        "question": question,
        "options": options,
        "answer_letter": letter,
        "media_kind": "frames" if is_frames else "video",
        "media": _frames(path) if is_frames else [str(path)],
        "variant": f"candidates+answer_{fmt}",
        "subtask": subtask,
    }
    for key in ("start", "end"):
        if key in rec:
            row[key] = rec[key]
    return row


def _videomme(rec, *, file, where, stem, media, media_map, frame_subtasks) -> dict:
    raw = _as_list(rec["options"], file=file, where=where, field="options", kind="videomme")
    options, lettered = [], 0
    for opt in raw:
        letter, text = strip_letter_prefix(opt)
        lettered += letter is not None
        options.append(text)
    letter, fmt = answer_to_letter(rec["answer"], options, file=file, where=where, kind="videomme")
    return {
        "qid": str(rec["question_id"]),
        "question": str(rec["question"]).strip(),
        "options": options,
        "answer_letter": letter,
        "media_kind": "video",
        "media": [str(media.video(str(rec["videoID"]), file=file, where=where, field="videoID"))],
        "variant": ("lettered_options" if lettered else "plain_options") + f"+answer_{fmt}",
        **{g: str(rec.get(g, "")) for g in VIDEOMME_GROUPS},
    }


def _options_from(rec, *, file, where, kind, column: str) -> tuple[str, list[str], str]:
    """Options from a list column when present, else from ``(A) ...`` lines in the question."""
    question, in_text = split_option_lines(str(rec["question"]))
    listed = _as_list(rec.get(column), file=file, where=where, field=column, kind=kind)
    if listed:
        return question, [strip_letter_prefix(o)[1] for o in listed], f"{column}_column"
    if in_text:
        return question, in_text, "question_lines"
    raise InputError(
        file,
        where,
        column,
        f"options as a '{column}' list or '(A) ...' lines in the question ({kind})",
        reason="no options found",
    )


def _mlvu(rec, *, file, where, stem, media, media_map, frame_subtasks) -> dict:
    question, options, src = _options_from(
        rec, file=file, where=where, kind="mlvu", column="candidates"
    )
    letter, fmt = answer_to_letter(rec["answer"], options, file=file, where=where, kind="mlvu")
    field = "video_name" if rec.get("video_name") else "video"
    video = rec.get(field)
    if not video:
        raise InputError(
            file,
            where,
            "video_name",
            "the video file name (mlvu: video_name or video)",
            reason="missing field 'video_name'",
        )
    task = rec.get("task_type") or rec.get("question_type") or stem
    qid = rec.get("question_id")
    # MLVU dev keeps each task's videos in a folder named like its file (video/1_plotQA/).
    path = media.find([str(video), f"{stem}/{video}"], file=file, where=where, field=field)
    return {
        "qid": str(qid) if qid not in (None, "") else f"{stem}/{_ordinal(where)}",
        "question": question,
        "options": options,
        "answer_letter": letter,
        "media_kind": "video",
        "media": [str(path)],
        "variant": f"{src}+answer_{fmt}",
        "task_type": str(task),
        "duration_s": _seconds(rec.get("duration"), file=file, where=where),
    }


def _seconds(value: Any, *, file: str, where: str) -> float | None:
    """MLVU's ``duration`` (seconds) as a float; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise InputError(
            file, where, "duration", "the video's duration in seconds (mlvu)", got=value
        )
    return seconds


def _lvbench(rec, *, file, where, stem, media, media_map, frame_subtasks) -> dict:
    question, options, src = _options_from(
        rec, file=file, where=where, kind="lvbench", column="options"
    )
    letter, fmt = answer_to_letter(rec["answer"], options, file=file, where=where, kind="lvbench")
    field = "video_path" if rec.get("video_path") else "key"
    video = rec.get("video_path") or (f"{rec['key']}.mp4" if rec.get("key") else None)
    if not video:
        raise InputError(
            file,
            where,
            "video_path",
            "the video path (lvbench: video_path or key)",
            reason="missing field 'video_path'",
        )
    qtype = rec.get("question_type", "")
    if hasattr(qtype, "tolist") and not isinstance(qtype, str):
        qtype = qtype.tolist()
    if isinstance(qtype, list | tuple):
        # A question may carry several types; joined, and exploded in the breakdown.
        qtype = "|".join(str(q) for q in qtype)
    uid = rec.get("uid")
    return {
        "qid": str(uid) if uid not in (None, "") else f"{stem}/{_ordinal(where)}",
        "question": question,
        "options": options,
        "answer_letter": letter,
        "media_kind": "video",
        "media": [str(media.video(str(video), file=file, where=where, field=field))],
        "variant": f"{src}+answer_{fmt}",
        "type": str(rec.get("type", "")),
        "question_type": str(qtype),
        "time_reference": str(rec.get("time_reference", "")),
    }


# gdo's own kinds, in this order. Prompts after the lmms-eval tasks.
register_kind(
    BenchmarkKind(
        "mvbench",
        group_fields=("subtask",),
        rule=Rule(unit="subtask", answered_only=True),
        read_record=_mvbench,
        required=("video", "question", "candidates", "answer"),
        forms=FORMS["mvbench"],
        prompt=Prompt(
            instruction="Only give the best option.",
            question_prefix="Question: ",
            options_header="Option:",
        ),
    )
)
register_kind(
    BenchmarkKind(
        "videomme",
        group_fields=VIDEOMME_GROUPS,
        rule=Rule(unit=None),
        read_record=_videomme,
        required=("question_id", "videoID", "question", "options", "answer"),
        forms=FORMS["videomme"],
        prompt=Prompt(
            intro="Select the best answer to the following multiple-choice question based on "
            "the video. Respond with only the letter of the correct option.",
            letter_style="dot",
        ),
    )
)
register_kind(
    BenchmarkKind(
        "mlvu",
        group_fields=("task_type",),
        rule=Rule(unit="task_type"),
        read_record=_mlvu,
        required=("question", "answer"),
        forms=FORMS["mlvu"],
        skip_files=OPEN_ENDED,
        prompt=Prompt(instruction="Only give the best option."),
    )
)
register_kind(
    BenchmarkKind(
        "lvbench",
        group_fields=("type", "question_type", "time_reference"),
        rule=Rule(unit=None),
        read_record=_lvbench,
        required=("question", "answer"),
        forms=FORMS["lvbench"],
        prompt=Prompt(instruction="Answer the question with the option letter."),
    )
)
register_kind(
    BenchmarkKind(
        "custom",
        group_fields=("subtask",),
        rule=Rule(unit=None),
        read_file=read_custom,  # JSONL / CSV / parquet, every problem reported by line
    )
)
