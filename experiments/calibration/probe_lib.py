"""Shared helpers of the calibration probes: a plain torch loop over the real gdo code.

The probes build the tiny Qwen2-VL with ``gdo.models.build_tiny`` over the world's
vocabulary, read the pool (``gdo pool`` output joined with the world's truth) and the
MVBench-schema benchmark with ``gdo.evaluation.read_benchmark``, preload every clip once
(``VLM.load_media``; cached on disk so probes share the decoding) and train with AdamW on
``VLM.collate`` batches. Evaluation is the demo's: option likelihood (``score_options``,
target ``text``) on the benchmark prompt of ``gdo.evaluation.predict.to_sample``.
"""

from __future__ import annotations

import math
import os
import pickle
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("GDO_PROGRESS", "0")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

CACHE = Path(os.environ.get("CAL_CACHE", "/tmp/calcache"))


def compose(overrides: list[str]) -> Any:
    """The real gdo config tree with ``overrides`` (as ``gdo`` composes it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401
    from gdo.cli import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        return hydra_compose(config_name="config", overrides=overrides)


def fresh_model(cfg: Any, out: Path) -> Any:
    """A random-init tiny VLM over the world's vocabulary (``build_tiny`` + ``load_model``)."""
    from gdo.models import build_tiny, load_model
    from gdo.world import vocabulary
    from gdo.world.stage import to_world_conf

    folder = build_tiny(cfg.model, out, vocabulary(to_world_conf(cfg.world)))
    return load_model(cfg.model, folder)


def pool_rows(world: Path, pool_parquet: Path) -> pd.DataFrame:
    """Pool candidates joined with the world's truth (qtype, temporal, waste, true_answer)."""
    pool = pd.read_parquet(pool_parquet)
    truth = pd.read_parquet(world / "truth.parquet")
    keep = ["uid", "qtype", "temporal", "waste", "true_answer", "scenario"]
    return pool.merge(truth[keep], on="uid", how="left", validate="one_to_one")


def perception_rows(world: Path) -> pd.DataFrame:
    """The perception split as candidate rows (``gdo.pool.read_candidates``)."""
    from gdo.pool import read_candidates

    return read_candidates(world / "pretrain" / "perception.json", media_root=str(world / "media"))


def bench_rows(world: Path, kind: str = "mvbench") -> pd.DataFrame:
    """A world benchmark (real schema) with the truth's qtype per question."""
    from gdo.evaluation import read_benchmark

    idx = {
        b["name"]: b for b in pd.read_json(world / "benchmarks" / "index.json").to_dict("records")
    }
    b = idx[kind]
    df = read_benchmark(world / b["path"], b["kind"], world / b["media_root"])
    truth = pd.read_parquet(world / "benchmarks" / "truth.parquet")[["qid", "qtype", "benchmark"]]
    truth = truth[truth["benchmark"] == kind].drop(columns="benchmark")
    return df.merge(truth, on="qid", how="left")


def to_samples(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Candidate rows -> ``gdo.models`` samples (list cells as lists)."""
    rows = df.to_dict("records")
    for r in rows:
        r["media"] = [str(m) for m in r["media"]]
        r["options"] = [str(o) for o in (r.get("options") if r.get("options") is not None else [])]
    return rows


def bench_samples(df: pd.DataFrame, kind: str = "mvbench") -> list[dict[str, Any]]:
    """Benchmark rows -> samples with the harness prompt (as ``gdo evaluate`` builds them)."""
    from gdo.evaluation.predict import to_sample

    out = []
    for _, row in df.iterrows():
        s = to_sample(row, kind)
        s["answer_letter"] = row["answer_letter"]
        s["qtype"] = row.get("qtype", "")
        s["subtask"] = row.get("subtask", "")
        out.append(s)
    return out


def attach_frames(vlm: Any, samples: list[dict[str, Any]], tag: str) -> None:
    """Set ``frames`` on every sample, decoding once per media file (disk cache ``tag``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{tag}-f{vlm.frames}.pkl"
    cache: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.exists() else {}
    new = 0
    for s in samples:
        key = "|".join(s["media"])
        if key not in cache:
            cache[key] = vlm.load_media(s)
            new += 1
        s["frames"] = cache[key]
    if new:
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(cache))
        tmp.replace(path)


def hits(vlm: Any, samples: list[dict[str, Any]]) -> np.ndarray:
    """Per-question correctness of the option-likelihood argmax.

    The scored target is ``$PROBE_TARGET`` (``text`` | ``letter`` | ``both``; default text).
    """
    vlm.model.eval()
    scores = vlm.score_options(samples, target=os.environ.get("PROBE_TARGET", "text"))
    return np.array(
        [
            "ABCDEFGH"[int(np.argmax(sc))] == s["answer_letter"]
            for s, sc in zip(samples, scores, strict=True)
        ]
    )


def accuracy(vlm: Any, samples: list[dict[str, Any]], by: str = "subtask") -> dict[str, float]:
    """Likelihood accuracy (``hits``) overall and per ``by`` group."""
    hit: dict[str, list[bool]] = {}
    for s, ok in zip(samples, hits(vlm, samples), strict=True):
        hit.setdefault(str(s.get(by, "")), []).append(bool(ok))
        hit.setdefault("all", []).append(bool(ok))
    return {k: round(float(np.mean(v)), 3) for k, v in sorted(hit.items())}


def train(
    vlm: Any,
    samples: list[dict[str, Any]],
    n_samples: int,
    *,
    lr: float = 1e-3,
    batch: int = 32,
    warmup: float = 0.05,
    seed: int = 0,
    eval_at: list[int] | None = None,
    eval_fn: Any = None,
) -> list[dict[str, Any]]:
    """AdamW on ``n_samples`` draws (epochs over a shuffled list), linear warm-up then cosine.

    ``eval_fn(seen)`` runs after the step that reaches each ``eval_at`` sample count;
    returns the log (one dict per evaluation, with ``seen`` and ``seconds``).
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    steps = max(1, math.ceil(n_samples / batch))
    opt = torch.optim.AdamW(vlm.model.parameters(), lr=lr, weight_decay=0.01)
    n_warm = max(1, int(warmup * steps))

    def lr_at(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        return 0.5 * (1 + math.cos(math.pi * (step - n_warm) / max(1, steps - n_warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    order: list[int] = []
    todo = sorted(eval_at or [])
    log: list[dict[str, Any]] = []
    t0 = time.time()
    seen = 0
    for _step in range(steps):
        if len(order) < batch:
            order += list(rng.permutation(len(samples)))
        idx, order = order[:batch], order[batch:]
        vlm.model.train()
        inputs = vlm._to_device(vlm.collate([samples[i] for i in idx]))
        out = vlm.model(**inputs)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(vlm.model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        seen += len(idx)
        while todo and seen >= todo[0]:
            todo.pop(0)
            entry = {"seen": seen, "seconds": round(time.time() - t0, 1), "loss": out.loss.item()}
            if eval_fn is not None:
                entry.update(eval_fn(seen))
            log.append(entry)
            print(entry, flush=True)
    return log
