"""Benchmarks as downloaded: find the question files and media folders in a dataset root.

``locate(root, kind)`` matches the folder against the layouts the releases ship (and the
evaluation harness lmms-eval caches them in), first match wins:

| kind | question files | media folders (first existing, then a file-name search) |
|---|---|---|
| mvbench | ``json/<subtask>.json`` | ``video/`` (zips extracted) or the root (the ``video`` revision), then each subtask's source folder (``star/Charades_v1_480``, ``clevrer/video_validation``, ...) |
| videomme | ``videomme/test-*.parquet`` | ``data/`` |
| mlvu | ``test-ground-truth/test_mcq_gt.json`` (test), ``[MLVU/]json/*.json`` (dev), ``{data,mlvu,mlvu_test}/*.parquet`` | ``video/``, ``MLVU/video/<n_task>/`` |
| lvbench | ``data/*.parquet`` (lmms-eval), ``[data/]video_info.meta.jsonl`` (THUDM) | the root, ``videos/``, ``video/`` |

A folder that holds question files itself (today's "folder of subtask files" form) is
the last layout of every kind. Open-ended files without options (MLVU's sub-scene and
summary tasks) are left out and listed. :class:`MediaFinder` resolves a record's video
path against the media folders in order, then by its file name anywhere under the root
(a unique match only), so an extracted archive one folder deeper is still found.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdo.benchmarks.kinds import OWN_FOLDER, Form, get_kind
from gdo.media.errors import MediaError
from gdo.media.paths import VIDEO_EXTS, is_video_file, resolve_media
from gdo.utils.errors import InputError

# A bare video id tries these, in this order (the lower-case form first).
_ID_SUFFIXES = tuple(form for ext in VIDEO_EXTS for form in (ext, ext.upper()))
QUESTION_SUFFIXES = (".json", ".jsonl", ".parquet")


# MVBench subtask -> its videos' folder in the release (main branch, zips extracted under
# video/) and in the `video` revision lmms-eval downloads (segments as mp4, at the root).
MVBENCH_FOLDERS: dict[str, tuple[str, ...]] = {
    "action_sequence": ("star/Charades_v1_480", "star/Charades_segment"),
    "action_prediction": ("star/Charades_v1_480", "star/Charades_segment"),
    "action_antonym": ("ssv2_video", "ssv2_video_mp4"),
    "fine_grained_action": ("Moments_in_Time_Raw/videos",),
    "unexpected_action": ("FunQA_test/test",),
    "object_existence": ("clevrer/video_validation",),
    "object_interaction": ("star/Charades_v1_480", "star/Charades_segment"),
    "object_shuffle": ("perception/videos",),
    "moving_direction": ("clevrer/video_validation",),
    "action_localization": ("sta/sta_video", "sta/sta_video_segment"),
    "scene_transition": ("scene_qa/video",),
    "action_count": ("perception/videos",),
    "moving_count": ("clevrer/video_validation",),
    "moving_attribute": ("clevrer/video_validation",),
    "state_change": ("perception/videos",),
    "fine_grained_pose": ("nturgbd", "nturgbd_convert"),
    "character_order": ("perception/videos",),
    "egocentric_navigation": ("vlnqa",),
    "episodic_reasoning": ("tvqa/frames_fps3_hq", "tvqa/video_fps3_hq_segment"),
    "counterfactual_inference": ("clevrer/video_validation",),
}
# Replacement clips of the "remove repeated qa" update (video/data0613.zip).
MVBENCH_UPDATE = "data0613"


# The release layouts of gdo's own kinds (their BenchmarkKind.forms, gdo.benchmarks.readers).
FORMS: dict[str, tuple[Form, ...]] = {
    "mvbench": (
        Form("OpenGVLab/MVBench: json/ + video/", ("json/*.json",), ("video", "")),
        OWN_FOLDER,
    ),
    "videomme": (
        Form(
            "lmms-lab/Video-MME: videomme/*.parquet + data/",
            ("videomme/*.parquet",),
            ("data", "videos", ""),
        ),
        OWN_FOLDER,
    ),
    "mlvu": (
        Form(
            "MLVU test: test-ground-truth/test_mcq_gt.json + video/",
            ("test-ground-truth/test_mcq_gt.json",),
            ("video", "MLVU_Test/video", ""),
        ),
        Form("MLVU dev: MLVU/json/ + MLVU/video/", ("MLVU/json/*.json",), ("MLVU/video", "")),
        Form("MLVU dev: json/ + video/", ("json/*.json",), ("video", "")),
        Form(
            "MLVU (lmms-eval parquet)",
            ("mlvu_test/*.parquet", "mlvu/*.parquet", "data/*.parquet"),
            ("", "video", "videos"),
        ),
        OWN_FOLDER,
    ),
    "lvbench": (
        Form("lmms-eval/LVBench: data/*.parquet", ("data/*.parquet",), ("", "videos", "video")),
        Form(
            "THUDM/LVBench: video_info.meta.jsonl",
            ("video_info.meta.jsonl", "data/video_info.meta.jsonl"),
            ("videos", "video", "", "scripts/videos"),
        ),
        OWN_FOLDER,
    ),
}
# Open-ended MLVU files shipped next to the multiple-choice ones (no options to score).
OPEN_ENDED = re.compile(r"sub_?scene|summary|generation|^OE-|_ssc_|_vs_", re.IGNORECASE)
# The file-name search stops after this many folders (a wrong root must not walk a disk).
MAX_SEARCH_DIRS = 20_000


@dataclass
class Layout:
    """What :func:`locate` found under a dataset root."""

    kind: str
    root: Path
    form: str
    questions: list[Path]
    media_roots: list[Path]
    skipped: list[Path] = field(default_factory=list)
    search: bool = True  # look a missing video up by file name under the root

    def describe(self) -> dict[str, Any]:
        """Plain, root-relative summary for logs, manifests and eval summaries."""
        return {
            "root": str(self.root),
            "form": self.form,
            "question_files": [self._rel(p) for p in self.questions],
            "media_roots": [self._rel(p) for p in self.media_roots],
            "skipped_files": [self._rel(p) for p in self.skipped],
        }

    def _rel(self, p: Path) -> str:
        try:
            return str(p.relative_to(self.root)) or "."
        except ValueError:
            return str(p)


def locate(root: str | Path, kind: str, media_root: str | Path | None = None) -> Layout:
    """The question files and media folders of ``kind`` in the folder ``root``.

    An explicit ``media_root`` replaces the media folders found (and turns the file-name
    search off). Raises :class:`InputError` listing the layouts looked for.
    """
    root = Path(root).expanduser()
    spec = get_kind(kind, str(root))
    for form in spec.forms:
        files = _match(root, form.questions)
        if not files:
            continue
        skipped = []
        if spec.skip_files is not None:
            skipped = [f for f in files if spec.skip_files.search(f.stem)]
            files = [f for f in files if f not in skipped]
            if not files:
                continue
        if media_root is not None:
            roots, search = [Path(media_root).expanduser()], False
        else:
            roots = [root / m if m else root for m in form.media]
            roots, search = [r for r in dict.fromkeys(roots) if r.is_dir()], True
        return Layout(kind, root, form.name, files, roots, skipped, search)
    looked = "; ".join(f"{f.name} ({', '.join(f.questions)})" for f in spec.forms)
    raise InputError(
        str(root), None, None, f"a {kind} dataset folder: one of {looked}", got="none of these"
    )


def _match(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    """The files of the first glob pattern that matches any (sorted; hidden files skipped)."""
    for pattern in patterns:
        files = sorted(
            p
            for p in root.glob(pattern)
            if p.is_file() and p.suffix in QUESTION_SUFFIXES and not p.name.startswith(".")
        )
        if files:
            return files
    return []


def mvbench_folders(subtask: str, user: str | None = None) -> list[str]:
    """Candidate video folders of an MVBench subtask, most specific first."""
    base = ([user] if user else []) + [subtask, *MVBENCH_FOLDERS.get(subtask, ())]
    return list(dict.fromkeys([*base, *(f"{MVBENCH_UPDATE}/{b}" for b in base[1:])]))


class MediaFinder:
    """Resolves a record's media path against media roots in order, then by file name.

    Paths stay inside their root (:func:`gdo.media.resolve_media`: absolute paths only
    inside it, no ``..`` escape). ``found_by_name`` counts the distinct files the file-name
    search supplied.
    """

    def __init__(self, roots: list[Path], search_root: Path | None = None) -> None:
        self.roots = roots
        self.search_root = search_root
        self._index: dict[str, list[str]] | None = None
        self._by_name_hits: set[Path] = set()

    @property
    def found_by_name(self) -> int:
        """Distinct files found by their name under the search root."""
        return len(self._by_name_hits)

    @property
    def primary(self) -> Path:
        """The root a missing file is reported under."""
        return self.roots[0]

    def inside(self, root: Path, rel: str, *, file: str, where: str, field: str) -> Path:
        """``rel`` resolved in ``root``; :class:`InputError` when it leaves the root."""
        try:
            return resolve_media(rel, root, allow_absolute=True)
        except MediaError as exc:
            raise InputError(
                file, where, field, "a media path inside the media root", got=rel, reason=exc.reason
            ) from None

    def find(self, candidates: list[str], *, file: str, where: str, field: str) -> Path:
        """The first candidate (relative path) that exists in a root, then a unique file
        of the same name under the search root; else the first candidate in the primary
        root (reported missing by the caller)."""
        for rel in candidates:
            for root in self.roots:
                p = self.inside(root, rel, file=file, where=where, field=field)
                if p.exists():
                    return p
        if self.search_root is not None:
            for rel in candidates:
                hit = self._by_name(Path(rel).name)
                if hit is not None:
                    self._by_name_hits.add(hit)
                    return hit
        return self.inside(self.primary, candidates[0], file=file, where=where, field=field)

    def video(self, rel: str, *, file: str, where: str, field: str) -> Path:
        """A video path; a bare id (Video-MME's ``videoID``) tries the known extensions."""
        if is_video_file(rel):
            return self.find([rel], file=file, where=where, field=field)
        found = self.find(
            [rel, *(rel + ext for ext in _ID_SUFFIXES)], file=file, where=where, field=field
        )
        return found if found.exists() else found.with_name(Path(rel).name + ".mp4")

    def _by_name(self, name: str) -> Path | None:
        if self._index is None:
            self._index = _index_videos(self.search_root)
        paths = self._index.get(name, [])
        return Path(paths[0]) if len(paths) == 1 else None


def _index_videos(root: Path) -> dict[str, list[str]]:
    """file name -> paths of every video file under ``root`` (symlinked folders followed
    once, hidden folders skipped, at most :data:`MAX_SEARCH_DIRS` folders)."""
    index: dict[str, list[str]] = {}
    seen: set[str] = set()
    for n, (folder, dirs, files) in enumerate(os.walk(root, followlinks=True)):
        real = os.path.realpath(folder)
        if real in seen or n >= MAX_SEARCH_DIRS:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if is_video_file(name):
                index.setdefault(name, []).append(os.path.join(folder, name))
    return index
