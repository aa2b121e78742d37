"""``VLM``: answer loss (visual and blind), generation, option scoring and training batches.

This module says what each call computes; how its passes are fast (vision features, M-RoPE
positions and prompts made once, shared option rows, the sampling prompt prefilled once)
is the speed layer's, ``gdo.models.fast``, whose pieces are equality-tested against the
plain path and switchable here (``share_vision``, ``shared_prompt``, ``prefill_once``,
``reuse_vision``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gdo.models.errors import SampleTooLong
from gdo.models.fast import (
    FeatureCache,
    assemble,
    can_prefill,
    encoded_positions,
    generate_prefilled,
    mask_sized,
    prompt_positions,
    rope_from,
    shared_row_logprobs,
    shared_rows_supported,
    supports_sharing,
)
from gdo.models.inputs import IGNORE, Encoded, SampleEncoder, pad_batch
from gdo.utils.errors import GdoError, InputError
from gdo.utils.progress import progress

# (index in the caller's list, sample, blind, target text(s) or None, label the end token);
# a list of targets gives one row per target over a single encoding of the sample.
Job = tuple[int, dict[str, Any], bool, str | list[str] | None, bool]
SCORE_TARGETS = ("text", "letter", "both")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def _answer(sample: dict[str, Any], index: int) -> str:
    answer = sample.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        where = f"sample {index}" + (f" (uid {sample['uid']})" if sample.get("uid") else "")
        raise InputError(None, where, "answer", "a non-empty answer string", got=answer)
    return answer


class VLM:
    """A loaded VLM (processor + model) behind the interface described in ``gdo.models``.

    ``frames`` (frames per video) and ``max_pixels`` (pixels per frame) come from the model
    config; ``stats`` counts what encoding changed (``frames_truncated``) for manifests.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        model_cfg: Any,
        device: str = "cpu",
        source: str | None = None,
    ) -> None:
        self.model, self.processor, self.cfg = model, processor, model_cfg
        self.source = source  # the folder / hub id it was loaded from (processor files)
        self.device = torch.device(device)
        self.encoder = SampleEncoder(processor, model_cfg)
        self.tokenizer = processor.tokenizer
        self.frames: int = self.encoder.frames
        self.max_pixels: int = self.encoder.max_pixels
        self.batch_size: int = max(1, int(model_cfg.batch_size))
        # score_options encodes each sample's media once for all its options.
        self.share_vision = True
        # score_options runs each prompt once, all its options in one row
        # (gdo.models.fast.shared_prefix), where the model supports it.
        self.shared_prompt = bool(getattr(model_cfg, "shared_prompt_options", True))
        # Sampling n > 1 answers: run each prompt through the model once, then repeat its
        # KV cache n times, instead of HF's n copies of the prompt before the prefill.
        self.prefill_once = True
        # Inside ``reuse_encodings``: each media tensor goes through the vision tower once
        # (the loss pass and the sampling prompts of the same rows share its features).
        self.reuse_vision = True
        self._features: FeatureCache | None = None
        self._detached: SampleEncoder | None = None  # prepare_encodings' (another thread)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.encoder.end_id

    def save_pretrained(self, out_dir: str | Path) -> Path:
        """Save the weights and the processor files so ``load_model(cfg, out_dir)`` reloads it.

        The processor files are copied from the source checkpoint (the processor may be the
        torchvision-free assembly, which transformers cannot serialise as such).
        """
        from gdo.models.files import copy_processor_files

        out = Path(out_dir)
        self.model.save_pretrained(out)
        if self.source is not None:
            copy_processor_files(self.source, out)
        else:
            self.processor.save_pretrained(out)
        return out

    def load_media(self, sample: dict[str, Any]) -> np.ndarray | None:
        """The sample's frames (T, H, W, 3) uint8 as the model sees them (``model.frames``,
        ``model.max_pixels``), or None without media. Put them back as ``sample["frames"]``
        (e.g. reversed in time) to reuse them without loading again."""
        return self.encoder.media(sample)[1]

    @property
    def stats(self) -> dict[str, int]:
        """Counts of encoding changes so far (e.g. ``frames_truncated``)."""
        return dict(self.encoder.stats)

    # ---- encoding ----------------------------------------------------------------------
    def prompt(self, sample: dict[str, Any], blind: bool = False) -> str:
        """The chat-templated prompt text (up to the assistant turn) of one sample."""
        return self.encoder.prompt(sample, blind)

    def prepare_encodings(
        self, samples: list[dict[str, Any]], blind: bool = True
    ) -> dict[tuple, tuple[Any, dict]]:
        """Each sample's visual (and, with ``blind``, blind) prompt through the processor now
        (chat template, tokens, pixel patches), without touching the model, for
        ``reuse_encodings(made)``.

        Thread-safe against the model's own calls (a processor copy of its own), so a
        prefetch thread can encode the next batch while the model runs on this one; the
        outputs are those the model's calls would make. Samples must carry ``frames``;
        one whose media or prompt fails is left out (the model's call raises it as usual).
        """
        if self._detached is None:
            self._detached = self.encoder.detached()
            self._detached.annotate = self._add_positions
        enc = self._detached
        visual: list[tuple[dict[str, Any], str | None, np.ndarray | None]] = []
        for sample in samples:
            try:
                visual.append((sample, *enc.media(sample)))
            except Exception:  # noqa: BLE001 - raised (with its index) by the model's call
                continue
        blind_items = [(s, None, None) for s, _, _ in visual] if blind else []
        return enc.encodings(visual + blind_items)

    def _add_positions(self, out: dict) -> None:
        """The encoder's ``annotate`` inside ``reuse_encodings`` and ``prepare_encodings``:
        a batch-processed prompt's M-RoPE positions, made once and assembled by every pass
        of the batch (``rope_from``)."""
        positions = prompt_positions(getattr(self.model, "model", None), out)
        if positions is not None:
            out["rope_positions"] = positions

    @contextmanager
    def reuse_encodings(self, made: dict[tuple, tuple[Any, dict]] | None = None) -> Iterator[None]:
        """Inside the block, a sample encoded once (same prompt, same ``frames`` array) is
        not processed again: e.g. ``losses`` then ``generate`` on the same rows process
        each visual prompt once. Rows must carry their media as ``frames`` to share.
        With ``reuse_vision`` each media also goes through the vision tower once: the loss
        pass's features serve the sampling prefill of ``generate``. ``made``: encodings
        :meth:`prepare_encodings` made ahead."""
        core = getattr(self.model, "model", None)
        outer = self._features is None and self.reuse_vision and supports_sharing(core)
        if outer:
            self._features = FeatureCache()
        # Prompts keep their M-RoPE positions only here, where several passes use them
        # (collate's training batches never do).
        positions = self.encoder.annotate is None
        if positions:
            self.encoder.annotate = self._add_positions
        try:
            with self.encoder.memo(made):
                yield
        finally:
            if outer:
                self._features = None
            if positions:
                self.encoder.annotate = None

    def _encode_jobs(self, jobs: list[Job]) -> list[list[Encoded] | SampleTooLong]:
        """Encode ``(index, sample, blind, target, end)`` jobs: per job its encodings (one,
        or one per target of a list) or the ``SampleTooLong`` it raised (``.index`` set).

        Each sample's media are loaded once, then every prompt not processed yet goes
        through one batched processor call (split back per sample, equal to one call each).
        Other bad input and unreadable media raise at once, with ``.index`` set.
        """
        enc = self.encoder
        with enc.memo():
            media: list[tuple[str | None, np.ndarray | None]] = []
            for index, sample, blind, _, _ in jobs:
                try:
                    media.append((None, None) if blind else enc.media(sample))
                except GdoError as err:
                    # Bad input or unreadable media (MediaError): say which sample it was.
                    err.index = index
                    raise
            enc.prefetch([(job[1], *m) for job, m in zip(jobs, media, strict=True)])
            out: list[list[Encoded] | SampleTooLong] = []
            for (index, sample, blind, target, end), m in zip(jobs, media, strict=True):
                try:
                    if isinstance(target, list):
                        out.append(enc.encode_options(sample, target, end, media=m))
                    else:
                        out.append([enc.encode(sample, blind, target, end, media=m)])
                except SampleTooLong as err:
                    out.append(
                        SampleTooLong(err.n_tokens, err.max_length, index=index, uid=err.uid)
                    )
                except GdoError as err:
                    err.index = index
                    raise
        return out

    def _encode_all(self, jobs: list[Job]) -> list[Encoded]:
        """Encode jobs (:meth:`_encode_jobs`); too-long samples are reported together
        (``SampleTooLong.indices``) so the caller can drop them all at once."""
        done = self._encode_jobs(jobs)
        too_long = [r for r in done if isinstance(r, SampleTooLong)]
        if too_long:
            first = too_long[0]
            first.indices = sorted({r.index for r in too_long})
            raise first
        return [e for r in done if not isinstance(r, SampleTooLong) for e in r]

    def collate(
        self, samples: list[dict[str, Any]], blind: bool = False, end: bool = True
    ) -> dict[str, torch.Tensor]:
        """Training tensors, right-padded: input_ids, attention_mask, mm_token_type_ids, labels
        (-100 except the answer tokens, plus the end-of-turn token when ``end``) and, unless
        ``blind``, pixel_values / image_grid_thw and pixel_values_videos / video_grid_thw.

        Raises ``SampleTooLong`` (``.indices`` = every too-long position) after media
        truncation could not make a sample fit.
        """
        jobs = [(i, s, blind, _answer(s, i), end) for i, s in enumerate(samples)]
        return pad_batch(self._encode_all(jobs), self.pad_id, "right")

    def encode_each(
        self, samples: list[dict[str, Any]], blind: bool = False, end: bool = True
    ) -> list[Encoded | SampleTooLong]:
        """Per sample, the training encoding :meth:`collate` would make (prompt + labelled
        answer, pixel patches) plus its prompt's M-RoPE positions, or the ``SampleTooLong``
        it would raise for that sample. Encode once, batch many times with
        :meth:`collate_encoded` (``gdo.training``'s pre-encoded rows)."""
        jobs = [(i, s, blind, _answer(s, i), end) for i, s in enumerate(samples)]
        annotate = self.encoder.annotate is None
        if annotate:
            self.encoder.annotate = self._add_positions
        try:
            done = self._encode_jobs(jobs)
        finally:
            if annotate:
                self.encoder.annotate = None
        core = getattr(self.model, "model", None)
        out: list[Encoded | SampleTooLong] = []
        for result in done:
            if isinstance(result, SampleTooLong):
                out.append(result)
                continue
            (item,) = result
            if item.vision and item.positions is None:
                # Encoded alone (e.g. after dropping frames): its positions made here.
                item.positions = encoded_positions(core, item)
            out.append(item)
        return out

    def collate_encoded(self, items: list[Encoded]) -> dict[str, torch.Tensor]:
        """:meth:`collate`'s tensors from encodings made ahead (:meth:`encode_each`), plus
        ``position_ids`` (3, B, L) assembled from their positions, so the model skips its
        per-row position loop (omitted when an item has none)."""
        batch = pad_batch(items, self.pad_id, "right")
        if any(e.vision for e in items):
            got = assemble(items, batch["input_ids"], batch["attention_mask"])
            if got is not None:
                batch["position_ids"] = got[0]
        return batch

    # ---- forward -----------------------------------------------------------------------
    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        dtype = next(self.model.parameters()).dtype
        out = {}
        for key, value in batch.items():
            value = value.to(self.device)
            out[key] = value.to(dtype) if value.is_floating_point() else value
        return out

    @torch.no_grad()
    def _target_logprobs(self, items: list[Encoded], share: bool = False) -> list[np.ndarray]:
        """Log-probability of each labelled token, per item (one forward pass).

        Each media tensor goes through the vision tower once: across passes inside
        ``reuse_encodings``, and with ``share`` (``share_vision``) within this pass, where
        items of one sample carry the same media (e.g. its options)."""
        batch = self._to_device(pad_batch(items, self.pad_id, "right"))
        labels = batch.pop("labels")
        targets = labels[:, 1:]
        mask = targets != IGNORE
        core, head = getattr(self.model, "model", None), getattr(self.model, "lm_head", None)
        features = self._features
        if features is None and share and self.share_vision and supports_sharing(core):
            features = FeatureCache()  # this pass only
        if features is not None:
            features.into(batch, core, items, self._to_device)
        if core is not None and head is not None:
            # The LM head only on answer positions: full logits of a 150k vocabulary over
            # long video prompts would not fit in memory.
            with rope_from(core, items):
                hidden = core(**batch, use_cache=False).last_hidden_state[:, :-1]
            logits = head(hidden[mask]).float()
        else:
            logits = self.model(**batch, use_cache=False).logits[:, :-1][mask].float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[mask][:, None])[:, 0]
        counts = mask.sum(dim=1).tolist()
        return [x.cpu().numpy().astype(np.float64) for x in torch.split(logp, counts)]

    def _chunks(self, n: int, size: int, desc: str) -> Any:
        chunks = list(_chunks(n, size))
        # A bar only for calls that span several batches; per-batch calls stay quiet.
        return progress(chunks, desc=desc, unit="batch", leave=False) if len(chunks) > 1 else chunks

    def loss(self, samples: list[dict[str, Any]], blind: bool = False) -> np.ndarray:
        """Per-sample mean cross-entropy (nats) over the answer tokens; shape (N,).

        ``blind=True`` drops the visual tokens entirely (a text-only prompt: no pixels, no
        grid), the blind input of visual dependency (VDS).
        """
        self.model.eval()
        out = np.empty(len(samples))
        for rows in self._chunks(len(samples), self.batch_size, "loss"):
            jobs = [(i, samples[i], blind, _answer(samples[i], i), False) for i in rows]
            items = self._encode_all(jobs)
            for i, lp in zip(rows, self._target_logprobs(items), strict=True):
                out[i] = -lp.mean()
        return out

    def losses(self, samples: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """(visual, blind) per-sample answer losses. ``blind - visual`` is the visual
        dependency gap.

        Samples go in chunks of ``batch_size``; a chunk's visual rows and its blind rows
        (text only, so much shorter) each fill a forward pass of up to ``batch_size`` rows,
        so short blind rows are not padded to the visual length. A lone sample's two rows
        share one pass.
        """
        self.model.eval()
        visual, blind = np.empty(len(samples)), np.empty(len(samples))
        per_pass = max(2, self.batch_size)
        for rows in self._chunks(len(samples), self.batch_size, "losses"):
            jobs = [
                (i, samples[i], is_blind, _answer(samples[i], i), False)
                for is_blind in (False, True)
                for i in rows
            ]
            items = self._encode_all(jobs)
            logps: list[np.ndarray] = []
            for start in range(0, len(items), per_pass):
                logps += self._target_logprobs(items[start : start + per_pass])
            for k, i in enumerate(rows):
                visual[i] = -logps[k].mean()
                blind[i] = -logps[len(rows) + k].mean()
        return visual, blind

    # ---- option scoring ----------------------------------------------------------------
    def score_options(
        self, samples: list[dict[str, Any]], target: str = "text", end: bool = True
    ) -> list[np.ndarray]:
        """Summed log-probability of each option as the whole answer, one array per sample.

        ``target``: ``text`` scores the option text ("red"), ``letter`` its letter ("A"),
        ``both`` "A. red". With ``end`` the end-of-turn token is part of the continuation, so
        an option that is a prefix of another ("red" / "red car") is not favoured. The
        highest score is the model's likelihood choice. Each sample's prompt and media are
        encoded once for all its options (``share_vision``: one vision-tower pass too).
        """
        if target not in SCORE_TARGETS:
            raise ValueError(f"target {target!r}: expected one of {', '.join(SCORE_TARGETS)}")
        self.model.eval()
        targets: list[list[str]] = []
        for i, sample in enumerate(samples):
            options = sample.get("options")
            if options is None or len(options) == 0:
                where = f"sample {i}" + (f" (uid {sample['uid']})" if sample.get("uid") else "")
                raise InputError(None, where, "options", "a non-empty list of option texts")
            cont = {
                "text": [str(t) for t in options],
                "letter": list(LETTERS[: len(options)]),
                "both": [f"{LETTERS[k]}. {t}" for k, t in enumerate(options)],
            }
            targets.append(cont[target])
        if self.shared_prompt and shared_rows_supported(self.model):
            return self._score_shared(samples, targets, end)
        out: list[np.ndarray] = []
        # Whole samples per forward pass (about batch_size rows): each sample's prompt and
        # media are encoded once, and its media go through the vision tower once.
        per_batch = max(1, self.batch_size // max(len(t) for t in targets))
        for rows in self._chunks(len(samples), per_batch, "score_options"):
            jobs: list[Job] = [(i, samples[i], False, targets[i], end) for i in rows]
            logps = self._target_logprobs(self._encode_all(jobs), share=True)
            start = 0
            for i in rows:
                n = len(targets[i])
                out.append(np.array([lp.sum() for lp in logps[start : start + n]]))
                start += n
        return out

    def _score_shared(
        self, samples: list[dict[str, Any]], targets: list[list[str]], end: bool
    ) -> list[np.ndarray]:
        """``score_options`` with one row per sample (``gdo.models.fast.shared_prefix``):
        ``batch_size`` samples per forward pass (fewer where their masks would be large)."""
        out: list[np.ndarray] = []
        for rows in self._chunks(len(samples), self.batch_size, "score_options"):
            jobs: list[Job] = [(i, samples[i], False, targets[i], end) for i in rows]
            items = self._encode_all(jobs)
            groups, start = [], 0
            for i in rows:
                groups.append(items[start : start + len(targets[i])])
                start += len(targets[i])
            for part in mask_sized(groups):
                out += shared_row_logprobs(
                    self.model, part, self.pad_id, self._to_device, self._features
                )
        return out

    # ---- generation --------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        samples: list[dict[str, Any]],
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 32,
        seed: int | None = None,
    ) -> list[list[str]]:
        """``n`` answers per sample: greedy when ``temperature == 0`` (then the ``n`` are
        identical), else nucleus sampling (``seed`` makes it repeatable). Left-padded batches;
        special tokens are stripped from the decoded text."""
        self.model.eval()
        sample_mode = temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": int(max_new_tokens),
            "do_sample": sample_mode,
            # Greedy answers are all the same: decode once, copy (HF refuses n > 1 greedy).
            "num_return_sequences": int(n) if sample_mode else 1,
            "pad_token_id": self.pad_id,
            "eos_token_id": self.encoder.end_id,
        }
        if sample_mode:
            kwargs.update(temperature=float(temperature), top_p=float(top_p), top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        out: list[list[str]] = []
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            for rows in self._chunks(len(samples), self.batch_size, "generate"):
                jobs = [(i, samples[i], False, None, False) for i in rows]
                items = self._encode_all(jobs)
                batch = pad_batch(items, self.pad_id, "left")
                batch.pop("labels")
                batch = self._to_device(batch)
                if sample_mode and n > 1 and self.prefill_once and can_prefill(self.model, batch):
                    tokens = generate_prefilled(
                        self.model, batch, int(n), kwargs, items, self._features, self._to_device
                    )
                else:
                    tokens = self.model.generate(**batch, **kwargs)
                new = tokens[:, batch["input_ids"].shape[1] :]
                texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
                texts = [t.strip() for t in texts]
                if not sample_mode:
                    texts = [t for t in texts for _ in range(n)]
                out += [texts[k * n : (k + 1) * n] for k in range(len(rows))]
        return out
