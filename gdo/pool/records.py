"""One pool record -> its single-turn candidates (the hot loop of ingestion).

A record is a LLaVA-OneVision/NeXT or LLaVA-Video-178K dict (``conversations``) or a
chat row (``messages``). Each (question, answer) pair becomes one candidate row, a
tuple in :data:`gdo.pool.schema.COLUMNS` order. Everything about a record is checked
before any of its rows is kept, so a bad record is dropped whole or raises whole.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from gdo.media.errors import MediaError
from gdo.pool.columns import CandidateColumns
from gdo.pool.config import BucketConf
from gdo.pool.duration import (
    DURATION_KEYS,
    N_FRAMES_KEYS,
    duration_from_data_source,
    duration_from_metadata,
    n_frames_from_metadata,
)
from gdo.pool.media_check import PathResolver, media_problem
from gdo.pool.schema import UID_BYTES, uid_digests
from gdo.pool.text import answer_letter, parse_options
from gdo.pool.turns import UNUSUAL, conversation_pairs, fast_pairs, message_pairs
from gdo.utils.errors import InputError


@dataclass
class FileContext:
    """What a record needs to know about the file it came from."""

    file: str
    # human-readable variant for errors, e.g. "LLaVA-Video-178K, JSONL"
    variant: str
    # "line" (JSONL: 1-based line numbers) or "record" (JSON list / parquet: 0-based)
    unit: str = "record"
    source: str | None = None
    media_root: str | None = None
    # expected record shape: "conversations", "messages" or None (either)
    shape: str | None = None
    stem: str = field(init=False)
    media_base: str = field(init=False)

    def __post_init__(self) -> None:
        self.stem = os.path.splitext(os.path.basename(self.file))[0]
        base = self.media_root if self.media_root is not None else os.path.dirname(self.file)
        self.media_base = os.path.abspath(os.path.expanduser(base or "."))

    def where(self, index: int) -> str:
        """``line 12 (LLaVA-Video-178K, JSONL)`` / ``record 11 (...)`` for error messages."""
        n = index + 1 if self.unit == "line" else index
        return f"{self.unit} {n} ({self.variant})"


@dataclass
class MediaPolicy:
    """How much to trust media paths (stat / open each file) and how to find durations."""

    check_media: bool = False
    probe_media: bool = False
    buckets: BucketConf = field(default_factory=BucketConf)


META_KEYS = frozenset(DURATION_KEYS + N_FRAMES_KEYS)


class RecordConverter:
    """Converts records of one file into candidate row tuples (see module docstring).

    ``media_cache`` (path -> error reason or None) and ``probe_cache`` (path ->
    VideoInfo or error reason) can be shared between files of one pool, so every
    distinct media file is checked at most once.
    """

    def __init__(
        self,
        ctx: FileContext,
        policy: MediaPolicy,
        media_cache: dict[str, str | None] | None = None,
        probe_cache: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.policy = policy
        self.media_cache = {} if media_cache is None else media_cache
        self.probe_cache = {} if probe_cache is None else probe_cache
        self.missing_ids = 0
        self.unknown_durations = 0
        self._resolve = PathResolver(ctx.media_base, contained=ctx.media_root is not None)
        self._check_media = policy.check_media or policy.probe_media
        self._long_s = float(policy.buckets.long_video_min_s)
        self._order = tuple(policy.buckets.duration_order)
        self._unknown_bucket = policy.buckets.unknown_duration_bucket
        self._range_s: dict[str, float] = {}  # data_source -> duration, parsed once
        # convert_into's fast path: LLaVA video records, durations from data_source
        # (metadata, when a record has none, is skipped; data_source comes before probe).
        ds_first = next((h for h in self._order if h in ("data_source", "probe")), None)
        self._fast_video = (
            ctx.shape != "messages" and not self._check_media and ds_first == "data_source"
        )

    def convert_into(self, rec: Any, index: int, cols: CandidateColumns) -> None:
        """Append the candidates of one record to ``cols``: the same values as
        :meth:`convert` (which it falls back to for anything but the common case)."""
        # Fast path: a well-formed LLaVA-Video record (video path, id, data_source, no
        # metadata). Everything is checked before anything is appended; whatever is
        # unusual goes to `convert`, which raises with the record's context.
        if self._fast_video and type(rec) is dict:
            conv = rec.get("conversations")
            video = rec.get("video")
            sample_id = rec.get("id")
            source = rec.get("data_source")
            if (
                type(conv) is list
                and type(video) is str
                and video
                and type(sample_id) is str
                and sample_id
                and type(source) is str
                and source
                and META_KEYS.isdisjoint(rec)
            ):
                duration = self._range_s.get(source)
                if duration is None:
                    duration = self._range_s[source] = duration_from_data_source(source)
                try:
                    pairs = fast_pairs(conv, "from", "value")
                    path = self._resolve(video)
                except (*UNUSUAL, MediaError):
                    pairs = None
                if pairs is not None and duration == duration:  # not NaN
                    n0 = len(cols.digests)
                    cols.records.append(
                        (
                            sample_id,
                            source,
                            self.ctx.file,
                            index,
                            "long_video" if duration > self._long_s else "short_video",
                            "video",
                            [path],
                            path,
                            duration,
                            -1,
                            len(pairs),
                        )
                    )
                    cols.pairs.extend(pairs)
                    cols.digests.extend(uid_digests(source, sample_id, len(pairs)))
                    for turn, (q, a) in enumerate(pairs):
                        if "\n" in q:
                            options = parse_options(q)
                            if options:
                                cols.mcq.append((n0 + turn, options, answer_letter(a, options)))
                    return
        cols.add_rows(self.convert(rec, index))

    def convert(self, rec: Any, index: int) -> list[tuple]:
        """Candidate rows of one record; raises InputError / MediaError when it is bad."""
        ctx = self.ctx
        if type(rec) is not dict:
            raise InputError(
                ctx.file,
                ctx.where(index),
                None,
                "a JSON object (one record)",
                got=type(rec).__name__,
            )
        # Hot path: 1M records must take seconds, so the common case avoids helper calls
        # and formats no error context; anything unusual takes the careful path.
        if "conversations" in rec and ctx.shape != "messages":
            conv = rec["conversations"]
            try:
                pairs = fast_pairs(conv, "from", "value")
            except UNUSUAL:
                pairs = conversation_pairs(conv, ctx.file, ctx.where(index))
            video = rec.get("video")
            media = None
            if type(video) is str and video and not self._check_media:
                try:
                    kind, media = "video", [self._resolve(video)]
                except MediaError:
                    media = None  # the careful path below raises it with its context
            if media is None:
                kind, media, _ = self._media(self._llava_media, rec, index, len(pairs))
        elif "messages" in rec and ctx.shape != "conversations":
            msgs = rec["messages"]
            try:
                pairs = fast_pairs(msgs, "role", "content")
            except UNUSUAL:
                pairs = message_pairs(msgs, ctx.file, ctx.where(index))
            kind, media, _ = self._media(self._chat_media, rec, index, len(pairs))
        else:
            want = {"conversations": "'conversations' (LLaVA)", "messages": "'messages' (chat)"}
            expected = want.get(ctx.shape or "", "'conversations' (LLaVA) or 'messages' (chat)")
            raise InputError(
                ctx.file,
                ctx.where(index),
                ctx.shape or "conversations",
                f"a record with a {expected} list of turns",
                reason="record without conversations",
                got="keys " + ", ".join(sorted(map(str, rec))[:8]),
            )

        sample_id = rec.get("id")
        if type(sample_id) is not str or not sample_id:
            if sample_id is None or sample_id == "":
                self.missing_ids += 1
                sample_id = f"{ctx.stem}:{index}"
            else:
                sample_id = str(sample_id)
        source = rec.get("data_source")
        if type(source) is not str or not source:
            source = ctx.source or ctx.stem

        if kind == "video":
            video_id = media[0]
        elif kind == "frames":
            vid = rec.get("video_id")
            video_id = str(vid) if vid not in (None, "") else os.path.dirname(media[0])
        else:
            video_id = ""
        if kind == "image":
            duration, n_frames, bucket = math.nan, len(media), "image"
        elif kind == "none":
            duration, n_frames, bucket = math.nan, 0, "text"
        else:
            duration, n_frames = self._duration(rec, kind, media, source)
            if duration != duration:  # NaN: nothing could tell
                bucket = self._unknown_bucket
            else:
                bucket = "long_video" if duration > self._long_s else "short_video"

        file = ctx.file
        rows = []
        digests = uid_digests(source, sample_id, len(pairs))
        for turn, (q, a) in enumerate(pairs):
            uid = digests[turn][:UID_BYTES].hex()
            if "\n" in q:
                options = parse_options(q)
                letter = answer_letter(a, options) if options else ""
            else:
                options, letter = [], ""
            rows.append(
                (
                    uid,
                    sample_id,
                    turn,
                    source,
                    file,
                    index,
                    bucket,
                    kind,
                    media,
                    video_id,
                    duration,
                    n_frames,
                    q,
                    a,
                    bool(options),
                    options,
                    letter,
                )
            )
        return rows

    def _media(self, media_of, rec: dict, index: int, n_pairs: int) -> tuple[str, list[str], str]:
        try:
            kind, media, media_field = media_of(rec, index)
            if self._check_media:
                for p in media:
                    self._check(p, kind, index, media_field)
        except MediaError as exc:
            exc.n_candidates = n_pairs  # so a skip counts the candidates it drops
            raise
        return kind, media, media_field

    # -- media --------------------------------------------------------------------
    def _llava_media(self, rec: dict, index: int) -> tuple[str, list[str], str]:
        video = rec.get("video")
        if video:
            paths = self._paths(video, "video", index)
            return ("video" if len(paths) == 1 else "frames"), paths, "video"
        image = rec.get("image")
        if image:
            return "image", self._paths(image, "image", index), "image"
        return "none", [], ""

    def _chat_media(self, rec: dict, index: int) -> tuple[str, list[str], str]:
        videos = rec.get("videos")
        if videos:
            paths = self._paths(videos, "videos", index)
            return ("video" if len(paths) == 1 else "frames"), paths, "videos"
        images = rec.get("images")
        if images:
            paths = self._paths(images, "images", index)
            # Chat rows carry videos as pre-extracted frames, marked by a video_id.
            kind = "frames" if rec.get("video_id") not in (None, "") else "image"
            return kind, paths, "images"
        return "none", [], ""

    def _paths(self, value: Any, field_name: str, index: int) -> list[str]:
        items = [value] if type(value) is str else value
        if not isinstance(items, list | tuple) or not all(isinstance(p, str) and p for p in items):
            raise InputError(
                self.ctx.file,
                self.ctx.where(index),
                field_name,
                "a media path or a list of media paths",
                got=_show(value),
            )
        try:
            return [self._resolve(p) for p in items]
        except MediaError as exc:
            raise MediaError(
                exc.path, exc.reason or "bad media path", where=self._at(index), field=field_name
            ) from exc

    def _at(self, index: int) -> str:
        return f"{self.ctx.file}, {self.ctx.where(index)}"

    def _check(self, path: str, kind: str, index: int, field_name: str) -> None:
        if path not in self.media_cache:
            self.media_cache[path] = media_problem(
                path, kind, self.policy.probe_media, self.probe_cache
            )
        reason = self.media_cache[path]
        if reason is not None:
            raise MediaError(path, reason, where=self._at(index), field=field_name)

    def _duration(self, rec: dict, kind: str, media: list[str], source: str) -> tuple[float, int]:
        has_meta = not META_KEYS.isdisjoint(rec)
        n_frames = len(media) if kind == "frames" else -1
        if has_meta and n_frames < 0:
            n_frames = n_frames_from_metadata(rec)
        for how in self._order:
            if how == "metadata":
                if not has_meta:
                    continue
                d = duration_from_metadata(rec)
            elif how == "data_source":
                d = self._range_s.get(source)
                if d is None:
                    d = self._range_s[source] = duration_from_data_source(source)
            elif how == "probe" and kind == "video":
                info = self._probe(media[0])
                d = info.duration_s if info is not None else math.nan
                if info is not None and n_frames < 0:
                    n_frames = info.n_frames
            else:
                continue
            if d == d:  # not NaN
                return d, n_frames
        self.unknown_durations += 1
        return math.nan, n_frames

    def _probe(self, path: str):
        if path not in self.probe_cache:
            from gdo.media.video import probe_video

            try:
                self.probe_cache[path] = probe_video(path)
            except (MediaError, ImportError) as exc:
                self.probe_cache[path] = str(exc)
        info = self.probe_cache[path]
        return None if isinstance(info, str) else info


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
