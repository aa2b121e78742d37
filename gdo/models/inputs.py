"""Samples -> model inputs: media, chat prompt, token ids, answer labels, padded batches.

Each sample is encoded on its own (the processor expands the media placeholder to the
sample's own number of vision tokens), then ``pad_batch`` pads and concatenates. Encoding one
by one is what makes batched results equal to batch-of-1 results, and it lets a too-long
sample lose frames without touching the others. ``SampleEncoder.prefetch`` runs the
processor once for a whole batch and splits its output back per sample (the same tensors
as one call each; the test suite checks it), so the per-call overhead is paid once.
"""

from __future__ import annotations

import contextlib
import copy
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gdo.models.errors import SampleTooLong
from gdo.utils.errors import InputError

IGNORE = -100
END_TOKEN = "<|im_end|>"


@dataclass
class Encoded:
    """One sample's tokens: ``input_ids`` = prompt + target, ``n_target`` labelled at the end."""

    input_ids: list[int]
    mm_token_type_ids: list[int]
    n_target: int
    # "pixel_values" / "pixel_values_videos" and "image_grid_thw" / "video_grid_thw" tensors.
    vision: dict[str, torch.Tensor]
    n_frames: int
    # The prompt's M-RoPE positions (3, prompt length) when made ahead (gdo.models.fast.positions).
    positions: torch.Tensor | None = None


def video_metadata(n_frames: int, duration_s: float | None) -> dict[str, Any]:
    """Timing of ``n_frames`` frames sampled uniformly over ``duration_s`` seconds.

    Qwen3-VL writes frame timestamps into the prompt from it (Qwen2-VL ignores it). The frames
    count as a clip of ``n_frames`` at ``n_frames / duration_s`` fps; unknown durations
    (images turned videos, generated arrays) count as 1 fps.
    """
    known = duration_s is not None and np.isfinite(duration_s) and duration_s > 0
    fps = n_frames / float(duration_s) if known else 1.0
    return {
        "total_num_frames": int(n_frames),
        "fps": fps,
        "duration": n_frames / fps,
        "frames_indices": list(range(int(n_frames))),
    }


def _where(sample: dict[str, Any]) -> str:
    uid = sample.get("uid")
    return f"uid {uid}" if uid else "sample"


class SampleEncoder:
    """Turns sample dicts into token ids and vision tensors with one processor."""

    def __init__(self, processor: Any, model_cfg: Any) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.frames = int(model_cfg.frames)
        self.max_pixels = int(model_cfg.max_pixels)
        self.max_length = int(model_cfg.max_length)
        self.min_frames = max(1, int(model_cfg.min_frames))
        self.system_prompt = str(model_cfg.system_prompt or "")
        end = self.tokenizer.convert_tokens_to_ids(END_TOKEN)
        self.end_id = end if end is not None and end != self.tokenizer.unk_token_id else None
        if self.end_id is None:
            self.end_id = self.tokenizer.eos_token_id
        # For the caller's manifest: "frames_truncated", "unknown_tokens".
        self.stats: Counter[str] = Counter()
        # Processor outputs by (prompt, kind, frames, duration) while a memo is active
        # (:meth:`memo`): the visual loss and the generation prompt of a sample share one.
        self._memo: dict[tuple, tuple[Any, dict]] | None = None
        # Called on each processor output a batched :meth:`prefetch` keeps (the VLM adds
        # the prompt's M-RoPE positions there).
        self.annotate: Callable[[dict], None] | None = None

    @contextmanager
    def memo(self, seed: dict[tuple, tuple[Any, dict]] | None = None) -> Iterator[None]:
        """Reuse processor outputs inside the block (nested blocks share the outer memo).

        Entries are keyed by the frames array's identity and keep it alive, so a key is
        never reused by another array while the memo lives. ``seed``: entries made ahead
        (:meth:`encodings`, e.g. in a prefetch thread) to start from.
        """
        if self._memo is not None:
            if seed:
                self._memo.update(seed)
            yield
            return
        self._memo = dict(seed or {})
        try:
            yield
        finally:
            self._memo = None

    def detached(self) -> SampleEncoder:
        """An encoder with its own copy of the processor (and no memo) for another thread:
        a fast tokenizer changes its padding state on each padded call and refuses two
        threads at once."""
        other = copy.copy(self)
        other.processor = copy.deepcopy(self.processor)
        other.tokenizer = other.processor.tokenizer
        other.stats = Counter()
        other._memo = None
        return other

    def encodings(
        self, items: list[tuple[dict[str, Any], str | None, np.ndarray | None]]
    ) -> dict[tuple, tuple[Any, dict]]:
        """The processor outputs of ``(sample, kind, frames)`` items (:meth:`prefetch`), as a
        memo for :meth:`memo` ``(seed=...)``; what fails is left out (the encoder then
        raises it with the sample's index)."""
        with self.memo():
            self.prefetch(items)
            return dict(self._memo or {})

    # ---- media -------------------------------------------------------------------------
    def media(self, sample: dict[str, Any]) -> tuple[str | None, np.ndarray | None]:
        """(``image`` | ``video`` | None, frames (T, H, W, 3) uint8) of one sample."""
        kind = sample.get("media_kind")
        frames = sample.get("frames")
        if frames is not None:
            frames = np.asarray(frames)
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise InputError(
                    None, _where(sample), "frames", "a (T, H, W, 3) uint8 array",
                    got=f"{frames.dtype} array of shape {frames.shape}",
                )  # fmt: skip
        else:
            # Rows read from parquet carry media as numpy arrays: test the length, not truth.
            media = sample.get("media")
            if kind in (None, "none") or media is None or len(media) == 0:
                return None, None
            from gdo.media import load_media

            frames = load_media(kind, [str(p) for p in media], self.frames, self.max_pixels)
        if frames.shape[0] == 0:
            return None, None
        if kind == "image" or (kind is None and frames.shape[0] == 1):
            return "image", frames
        return "video", frames

    # ---- text --------------------------------------------------------------------------
    def messages(self, sample: dict[str, Any], kind: str | None, n_images: int = 1) -> list:
        """The chat messages (system, user turn with media first) of one sample."""
        question = sample.get("question")
        if not isinstance(question, str):
            raise InputError(None, _where(sample), "question", "a string", got=question)
        content: list[dict[str, str]] = []
        if kind == "image":
            content += [{"type": "image"}] * n_images
        elif kind == "video":
            content.append({"type": "video"})
        content.append({"type": "text", "text": question})
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": content}]

    def prompt(self, sample: dict[str, Any], blind: bool = False) -> str:
        """The chat-templated prompt (ending with the assistant header) of one sample."""
        kind, frames = (None, None) if blind else self.media(sample)
        return self._prompt(sample, kind, frames)

    def _template(self, messages: list) -> str:
        return self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _prompt(self, sample: dict[str, Any], kind: str | None, frames: np.ndarray | None) -> str:
        """The templated prompt, rendered once per (kind, images, question) while a memo is
        active."""
        n_images = 0 if frames is None else frames.shape[0]
        if self._memo is None:
            return self._template(self.messages(sample, kind, n_images))
        key = ("template", kind, n_images, sample.get("question"))
        if key not in self._memo:
            self._memo[key] = (
                None,
                {"prompt": self._template(self.messages(sample, kind, n_images))},
            )
        return self._memo[key][1]["prompt"]

    @staticmethod
    def _memo_key(prompt: str, kind: str | None, frames: Any, duration: Any) -> tuple:
        return ("process", prompt, kind, None if frames is None else id(frames), duration)

    def _processed(
        self, prompt: str, kind: str | None, frames: np.ndarray | None, duration: float | None
    ) -> dict:
        """``_process``, through the memo when one is active."""
        if self._memo is None:
            return self._process(prompt, kind, frames, duration)
        key = self._memo_key(prompt, kind, frames, duration)
        hit = self._memo.get(key)
        if hit is None or hit[0] is not frames:
            hit = (frames, self._process(prompt, kind, frames, duration))
            self._memo[key] = hit
        return hit[1]

    def prefetch(self, items: list[tuple[dict[str, Any], str | None, np.ndarray | None]]) -> None:
        """Process every ``(sample, kind, frames)`` not yet in the active memo with one
        processor call (one tokenizer call, one call per media kind) and split the result
        into per-sample outputs equal to :meth:`_process` of each sample alone.

        A no-op without an active memo; any failure leaves the memo as it was, so the
        per-sample path then raises (and attributes) the error as usual.
        """
        if self._memo is None:
            return
        pending: dict[tuple, tuple[str, str | None, np.ndarray | None, Any]] = {}
        for sample, kind, frames in items:
            try:
                prompt = self._prompt(sample, kind, frames)
            except Exception:  # noqa: BLE001 - encode() raises it with the sample's index
                continue
            duration = sample.get("duration_s")
            key = self._memo_key(prompt, kind, frames, duration)
            hit = self._memo.get(key)
            if (hit is None or hit[0] is not frames) and key not in pending:
                pending[key] = (prompt, kind, frames, duration)
        if len(pending) < 2:
            return
        try:
            outs = self._process_many(list(pending.values()))
        except Exception:  # noqa: BLE001 - fall back to one call per sample
            return
        for key, (_, kind, frames, _), out in zip(pending, pending.values(), outs, strict=True):
            if self.annotate is not None and frames is not None:
                with contextlib.suppress(Exception):
                    self.annotate(out)
            if frames is not None:
                self._share_patches(kind, frames, out)
            self._memo[key] = (frames, out)

    def _share_patches(self, kind: str | None, frames: np.ndarray, out: dict) -> None:
        """Prompts over the same frames array (several questions on one video) get the same
        pixel-patch tensor objects, so the vision tower can encode them once
        (``gdo.models.fast.shared_vision``); the values are equal either way."""
        keys = [k for k in ("pixel_values", "pixel_values_videos") if k in out]
        if not keys or self._memo is None:
            return
        slot = ("patches", kind, id(frames))
        seen = self._memo.get(slot)
        if seen is None or seen[0] is not frames:
            self._memo[slot] = (frames, {k: out[k] for k in keys})
            return
        for k in keys:
            if (
                k in seen[1]
                and seen[1][k].shape == out[k].shape
                and torch.equal(seen[1][k], out[k])
            ):
                out[k] = seen[1][k]

    def _process_many(self, items: list[tuple[str, str | None, Any, Any]]) -> list[dict]:
        """One processor call for several prompts, split back per prompt."""
        texts = [prompt for prompt, *_ in items]
        images = [f for _, kind, frames, _ in items if kind == "image" for f in frames]
        videos = [frames for _, kind, frames, _ in items if kind == "video"]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = videos
            kwargs["do_sample_frames"] = False
            kwargs["video_metadata"] = [
                video_metadata(len(frames), duration)
                for _, kind, frames, duration in items
                if kind == "video"
            ]
        out = self.processor(**kwargs)
        mask = out["attention_mask"].bool()
        spans = {}  # vision key -> per-item row ranges of its patches and grids
        for kind, pixel_key, grid_key in (
            ("image", "pixel_values", "image_grid_thw"),
            ("video", "pixel_values_videos", "video_grid_thw"),
        ):
            if grid_key not in out:
                continue
            grid = out[grid_key]
            rows = grid.prod(-1).tolist()
            starts = [0]
            for r in rows:
                starts.append(starts[-1] + r)
            if starts[-1] != out[pixel_key].shape[0]:
                raise ValueError(f"{pixel_key}: patch rows do not add up")
            spans[kind] = (pixel_key, grid_key, grid, starts)
        per_item: list[dict] = []
        used = {"image": 0, "video": 0}
        for row, (_, kind, frames, _) in enumerate(items):
            one = {"input_ids": out["input_ids"][row][mask[row]][None]}
            if "mm_token_type_ids" in out:
                one["mm_token_type_ids"] = out["mm_token_type_ids"][row][mask[row]][None]
            if kind in ("image", "video"):
                pixel_key, grid_key, grid, starts = spans[kind]
                count = len(frames) if kind == "image" else 1
                first = used[kind]
                used[kind] += count
                one[pixel_key] = out[pixel_key][starts[first] : starts[first + count]]
                one[grid_key] = grid[first : first + count]
            per_item.append(one)
        for kind, (_, _, grid, _) in spans.items():
            if used[kind] != len(grid):
                raise ValueError(f"{kind}: {len(grid)} grids for {used[kind]} inputs")
        return per_item

    def target_ids(self, text: str, end: bool) -> list[int]:
        """Token ids of an answer (plus the end-of-turn token when ``end``); tokenized once
        per text while a memo is active (a sample's visual and blind rows share it)."""
        key = ("target", text)
        if self._memo is not None and key in self._memo:
            ids = self._memo[key][1]["ids"]
        else:
            ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if self._memo is not None:
                self._memo[key] = (None, {"ids": ids})
        return ids + [self.end_id] if end else list(ids)

    # ---- encoding ----------------------------------------------------------------------
    def _process(
        self, prompt: str, kind: str | None, frames: np.ndarray | None, duration: float | None
    ) -> dict:
        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        if kind == "image":
            kwargs["images"] = list(frames)
        elif kind == "video":
            kwargs["videos"] = [frames]
            kwargs["do_sample_frames"] = False  # frames are already sampled
            kwargs["video_metadata"] = [video_metadata(len(frames), duration)]
        return self.processor(**kwargs)

    def encode(
        self,
        sample: dict[str, Any],
        blind: bool = False,
        target: str | None = None,
        end: bool = True,
        media: tuple[str | None, np.ndarray | None] | None = None,
    ) -> Encoded:
        """Prompt (+ ``target`` tokens, labelled) of one sample; ``blind`` drops its media.

        ``media``: the sample's ``(kind, frames)`` when the caller has them already.
        Too long for ``model.max_length``: a video keeps fewer frames (down to
        ``model.min_frames``, counted in ``stats['frames_truncated']``); then
        ``SampleTooLong``.
        """
        if blind:
            kind, frames = None, None
        else:
            kind, frames = media if media is not None else self.media(sample)
        tail = self.target_ids(target, end) if target is not None else []
        if target is not None and not tail:
            raise InputError(None, _where(sample), "answer", "a non-empty answer", got=target)
        prompt = self._prompt(sample, kind, frames)
        duration = sample.get("duration_s")
        out = self._processed(prompt, kind, frames, duration)
        n_tokens = out["input_ids"].shape[1] + len(tail)
        if n_tokens > self.max_length and kind == "video" and frames.shape[0] > self.min_frames:
            frames = self._fewer_frames(frames, out, n_tokens)
            out = self._process(prompt, kind, frames, duration)
            n_tokens = out["input_ids"].shape[1] + len(tail)
            self.stats["frames_truncated"] += 1
        if n_tokens > self.max_length:
            raise SampleTooLong(n_tokens, self.max_length, uid=sample.get("uid"))
        vision = {
            k: out[k]
            for k in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw")
            if k in out
        }
        ids = out["input_ids"][0].tolist()
        unk = self.tokenizer.unk_token_id
        if unk is not None:
            # Words the tokenizer does not know (a tiny vocabulary that misses the data's).
            self.stats["unknown_tokens"] += ids.count(unk) + tail.count(unk)
        types = out["mm_token_type_ids"][0].tolist() if "mm_token_type_ids" in out else None
        types = types if types is not None else [0] * len(ids)
        return Encoded(
            input_ids=ids + tail,
            mm_token_type_ids=types + [0] * len(tail),
            n_target=len(tail),
            vision=vision,
            n_frames=0 if frames is None else int(frames.shape[0]),
            positions=out.get("rope_positions") if kind is not None else None,
        )

    def encode_options(
        self,
        sample: dict[str, Any],
        targets: list[str],
        end: bool = True,
        media: tuple[str | None, np.ndarray | None] | None = None,
    ) -> list[Encoded]:
        """One row per target sharing a single encoding of the prompt and media.

        The longest target decides frame truncation and ``SampleTooLong``, so every row fits.
        """
        tails = [self.target_ids(t, end) for t in targets]
        for text, tail in zip(targets, tails, strict=True):
            if not tail:
                raise InputError(None, _where(sample), "options", "non-empty options", got=text)
        longest = max(range(len(targets)), key=lambda k: len(tails[k]))
        base = self.encode(sample, False, targets[longest], end, media)
        ids = base.input_ids[: len(base.input_ids) - base.n_target]
        types = base.mm_token_type_ids[: len(ids)]
        unk = self.tokenizer.unk_token_id
        if unk is not None:
            self.stats["unknown_tokens"] += sum(
                tail.count(unk) for k, tail in enumerate(tails) if k != longest
            )
        return [
            Encoded(
                ids + tail,
                types + [0] * len(tail),
                len(tail),
                base.vision,
                base.n_frames,
                base.positions,
            )
            for tail in tails
        ]

    def _fewer_frames(self, frames: np.ndarray, out: dict, n_tokens: int) -> np.ndarray:
        """The most uniformly spaced frames whose vision tokens fit ``max_length``."""
        n_vision = int((out["mm_token_type_ids"][0] != 0).sum())
        grid_t = int(out["video_grid_thw"][0, 0])
        per_step = max(1, n_vision // grid_t)
        step = -(-frames.shape[0] // grid_t)  # frames per temporal patch
        budget = self.max_length - (n_tokens - n_vision)
        keep = max(self.min_frames, (budget // per_step) * step)
        keep = min(keep, frames.shape[0])
        idx = np.linspace(0, frames.shape[0] - 1, keep).round().astype(int)
        return frames[idx]


def pad_batch(items: list[Encoded], pad_id: int, side: str = "right") -> dict[str, torch.Tensor]:
    """Pad encoded samples into model inputs; ``labels`` are -100 except each target."""
    length = max(len(e.input_ids) for e in items)
    n = len(items)
    # Filled in numpy, one tensor per field: a torch call per row costs more than the copy.
    input_ids = np.full((n, length), pad_id, dtype=np.int64)
    types = np.zeros((n, length), dtype=np.int64)
    sizes = np.array([len(e.input_ids) for e in items])
    starts = length - sizes if side == "left" else np.zeros(n, dtype=np.int64)
    for row, e in enumerate(items):
        start = int(starts[row])
        input_ids[row, start : start + sizes[row]] = e.input_ids
        types[row, start : start + sizes[row]] = e.mm_token_type_ids
    col = np.arange(length)[None, :]
    ends = (starts + sizes)[:, None]
    attention = (col >= starts[:, None]) & (col < ends)
    n_target = np.array([e.n_target for e in items])[:, None]
    labels = np.where((col >= ends - n_target) & (col < ends), input_ids, IGNORE)
    batch: dict[str, torch.Tensor] = {
        "input_ids": torch.from_numpy(input_ids),
        "attention_mask": torch.from_numpy(attention.astype(np.int64)),
        "mm_token_type_ids": torch.from_numpy(types),
        "labels": torch.from_numpy(labels),
    }
    for key in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        parts = [e.vision[key] for e in items if key in e.vision]
        if parts:
            batch[key] = torch.cat(parts, dim=0)
    return batch
