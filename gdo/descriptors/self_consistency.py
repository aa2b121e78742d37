"""SC (self-consistency): is the base model's answer stable under sampling?

``n`` answers are sampled per candidate (T=0.8, top_p=0.9, 32 new tokens in the
paper, docs/METHOD.md#sc-self-consistency) and ``sc`` is the mean pairwise token-Jaccard
of their word sets.
Sampling is seeded per uid (not per batch), so a value does not depend on which
other candidates share its batch or shard. ``enabled: false`` writes NaN and the
score stage applies the paper's SC fallback (docs/METHOD.md#the-quality-score-q).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from gdo.columns import SC
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext

WORD = re.compile(r"\w+")
# Decode greedily over the sampler's one-hot rows (same tokens as HF's sampling; tests
# compare the two).
PICK_GREEDILY = True


def token_set(text: str) -> frozenset[str]:
    """Lower-cased word tokens of an answer."""
    return frozenset(WORD.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty answers agree (1.0)."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def mean_pairwise_jaccard(answers: list[str]) -> float:
    """Mean token-Jaccard over all pairs of answers (NaN for fewer than two)."""
    sets = [token_set(a) for a in answers]
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return float("nan")
    return float(np.mean([jaccard(a, b) for a, b in pairs]))


def uid_seed(seed: int, uid: str) -> int:
    """A sampling seed that depends only on (run seed, uid)."""
    return int.from_bytes(hashlib.sha1(f"{seed}:{uid}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def _accepts(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class SeededSampler:
    """A logits processor that samples each row from its own RNG and forces that token.

    HF ``generate`` draws every row of a batch from one global RNG, so a row's answers
    would depend on its batch mates. This processor applies temperature and top-p
    itself, draws row ``r`` from ``generators[r]`` and returns a one-hot logit row
    (0 for the drawn token, -inf elsewhere); the warpers HF appends after it leave a
    one-hot row unchanged and the final multinomial can only pick that token.
    """

    def __init__(self, seeds: list[int], n: int, temperature: float, top_p: float) -> None:
        import torch

        # Rows are sample-major: HF repeats each prompt n times (repeat_interleave).
        self.generators = [
            torch.Generator().manual_seed(uid_seed(s, str(j))) for s in seeds for j in range(n)
        ]
        self.temperature, self.top_p = temperature, top_p
        # Each row's uniforms, drawn ``DRAWS`` at a time: ``rand(k)`` from a generator gives
        # the same numbers as ``k`` calls of ``rand(1)``, in one call per row.
        self._uniforms = torch.empty(len(self.generators), 0)
        self._step = 0

    DRAWS = 32

    def _next_uniforms(self, rows: int) -> Any:
        import torch

        if self._step >= self._uniforms.shape[1]:
            more = torch.stack([torch.rand(self.DRAWS, generator=g) for g in self.generators])
            self._uniforms = torch.cat([self._uniforms, more], dim=1)
        u = self._uniforms[:rows, self._step]
        self._step += 1
        return u

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (the top token always).
        drop = (sorted_p.cumsum(-1) - sorted_p) >= self.top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        # One uniform draw per row from its own generator, then inverse-CDF sampling
        # over the kept (sorted) mass, vectorized over the rows.
        u = self._next_uniforms(len(scores))
        cdf = sorted_p.cumsum(-1)
        k = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp(max=cdf.shape[1] - 1)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, order.gather(1, k), 0.0)
        return out


@contextmanager
def seeded_sampling(vlm: Any, sampler: SeededSampler) -> Iterator[None]:
    """Route ``vlm``'s next HF ``generate`` calls through ``sampler``.

    gdo.models' ``VLM.generate`` takes no logits processor, so the HF model's
    ``generate`` is wrapped on the instance for the duration and restored after. A call
    that brings its own processors (the prompt prefill) keeps them. A sampling call with
    one sequence per row decodes greedily: the sampler has already drawn each row's token
    (its one-hot row), and the argmax picks the same token as HF's temperature, top-p
    and multinomial would, without their work on every row and step.
    """
    from transformers import LogitsProcessorList

    hf = vlm.model
    real = type(hf).generate

    def generate(*args: Any, **kwargs: Any) -> Any:
        if "logits_processor" not in kwargs:
            kwargs["logits_processor"] = LogitsProcessorList([sampler])
            one_row_each = kwargs.get("num_return_sequences", 1) == 1
            if PICK_GREEDILY and kwargs.get("do_sample") and one_row_each:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return real(hf, *args, **kwargs)

    hf.generate = generate
    try:
        yield
    finally:
        del hf.generate


@register("self_consistency")
class SelfConsistency(Descriptor):
    """SC: mean pairwise token-Jaccard of ``n`` sampled answers."""

    sample_columns = (SC,)
    needs_model = True

    def __init__(
        self, n: int = 5, temperature: float = 0.8, top_p: float = 0.9, max_new_tokens: int = 32
    ) -> None:
        if int(n) < 2:
            raise ValueError(f"descriptors.specs.self_consistency.n: expected >= 2, got {n}")
        self.n = int(n)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.max_new_tokens = int(max_new_tokens)

    def _sample(self, ctx: BatchContext, rows: list[dict[str, Any]]) -> list[list[str]]:
        """``n`` answers per row, each row's draws seeded by its uid only."""
        import torch

        kw = {
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
        }
        seeds = [uid_seed(ctx.seed, r["uid"]) for r in rows]
        gen = ctx.model.generate
        if _accepts(gen, "seeds"):
            return gen(rows, seeds=seeds, **kw)
        hf = getattr(ctx.model, "model", None)
        if hasattr(hf, "generate") and hasattr(ctx.model, "batch_size"):
            out: list[list[str]] = []
            # One HF generate call per chunk, so the sampler's rows line up with the chunk.
            size = max(1, int(ctx.model.batch_size))
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                sampler = SeededSampler(
                    seeds[start : start + size], self.n, self.temperature, self.top_p
                )
                with seeded_sampling(ctx.model, sampler):
                    out.extend(gen(chunk, **kw))
            return out
        # A model without a reachable HF generate: one row at a time, each from its seed.
        out = []
        for row, s in zip(rows, seeds):
            if _accepts(gen, "seed"):
                out.extend(gen([row], seed=s, **kw))
            else:
                torch.manual_seed(s)
                out.extend(gen([row], **kw))
        return out

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """SC of every row."""

        def run(_: list[dict[str, Any]], idx: list[int]) -> list[float]:
            answers = self._sample(ctx, ctx.model_rows(idx))
            return [mean_pairwise_jaccard(list(a)) for a in answers]

        return {SC: ctx.column(ctx.map_batch(SC, run))}
