"""Probe: how many clean temporal examples the tiny model needs, concentrated or diluted.

In-memory clips of the demo world's scene (``gdo.world.scene``), encoded once with the real
model code (``VLM``), trained with a plain AdamW loop (lr 1e-3, 5% warm-up then cosine,
batch 32, one pass); evaluation by option likelihood ("A. red") on benchmark prompts
(``gdo.evaluation.prompts.build_prompt``), each question also on its clip reversed in time.

    python experiments/calibration/probe_accounting.py base OUT.pt [--samples 16000]
    python experiments/calibration/probe_accounting.py arm BASE.pt --arm gdo --n 2000 \
        [--share 0.5] [--wrong 0] [--leak 0] [--routing last|two] [--batch 32] [--seed 1]

``base``: a random-init tiny model pre-trained on static perception (colour / count /
existence on images and static or moving clips). ``arm``: from that base, ``n`` samples of
which a share ``share`` are clean temporal questions (appearance order and state change,
alternating), ``wrong`` temporal questions with a colour the clip does not show, ``leak``
temporal questions that state their answer, the rest static. ``routing last`` asks "what
colour appears last?" and "what colour is the shape at the end?" (one time slot for both);
``two`` asks "first" for order and "end" for change. Prints one JSON line per evaluation
(at 1/5 .. 5/5 of the samples): accuracy on 150 order + 150 change + 300 static questions,
and order / change accuracy on the reversed clips.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GDO_PROGRESS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402

from gdo.evaluation.prompts import build_prompt  # noqa: E402
from gdo.media.sampling import uniform_indices  # noqa: E402
from gdo.models.inputs import pad_batch  # noqa: E402
from gdo.world.formats import llava_mc_answer, mc_question  # noqa: E402
from gdo.world.questions import TEMPLATES, asked_as_mc, make_options, questions_for  # noqa: E402
from gdo.world.scene import Clip, Obj, make_clip, render  # noqa: E402

ROUTES = {"last": {"order": "last", "change": "end"}, "two": {"order": "first", "change": "end"}}


def sampled(frames: np.ndarray, n: int) -> np.ndarray:
    return np.ascontiguousarray(frames[uniform_indices(len(frames), n)])


def temporal_clip(rng, scene, kind: str, n_frames: int) -> Clip:
    """Two shapes one after the other (order), or one shape switching colour half-way."""
    names = list(scene.colours)
    size = lambda: int(rng.integers(scene.shape_size[0], scene.shape_size[1] + 1))  # noqa: E731
    pos = lambda s: float(rng.integers(0, scene.canvas - s + 1))  # noqa: E731
    if kind == "order":
        cols = [str(c) for c in rng.choice(names, size=2, replace=False)]
        objs = []
        for i, c in enumerate(cols):
            s = size()
            start, end = round(i * n_frames / 2), round((i + 1) * n_frames / 2)
            objs.append(Obj(c, str(rng.choice(scene.shapes)), s, pos(s), pos(s), start=start,
                            end=end))  # fmt: skip
        return Clip("sequence", n_frames, objs)
    a, b = [str(c) for c in rng.choice(names, size=2, replace=False)]
    s = size()
    obj = Obj(a, str(rng.choice(scene.shapes)), s, pos(s), pos(s), start=0, end=n_frames,
              change_at=n_frames // 2, new_colour=b)  # fmt: skip
    return Clip("change", n_frames, [obj])


def temporal_qa(rng, clip: Clip, kind: str, variant: str) -> tuple[str, str, list[str]]:
    """(question, answer, the colours on screen)."""
    if kind == "order":
        order = clip.appearance_order
        answer = order[0].colour if variant == "first" else order[-1].colour
        q = str(rng.choice(TEMPLATES[("appearance_order", variant)]))
        return q, answer, [o.colour for o in clip.objects]
    o = clip.objects[0]
    answer = o.colour if variant == "start" else o.new_colour
    q = str(rng.choice(TEMPLATES[("state_change", variant)])).format(ref="shape")
    return q, answer, [o.colour, o.new_colour]


def options(rng, names, answer, near, n=4, pos=None) -> list[str]:
    hard = [c for c in near if c != answer]
    rest = [c for c in names if c != answer and c not in hard]
    rng.shuffle(rest)
    d = (hard + rest)[: n - 1]
    rng.shuffle(d)
    pos = int(rng.integers(0, n)) if pos is None else pos % n
    return d[:pos] + [answer] + d[pos:]


def train_temporal(rng, scene, frames, kind, variant, wrong=False, leak=False) -> dict:
    clip = temporal_clip(rng, scene, kind, int(rng.integers(8, 17)))
    q, answer, near = temporal_qa(rng, clip, kind, variant)
    names = list(scene.colours)
    given = str(rng.choice([c for c in names if c not in near])) if wrong else answer
    if leak:
        q = (f"the {answer} shape appears {variant}." if kind == "order"
             else f"the shape is {answer} at the {variant}.") + " " + q  # fmt: skip
    question, ans = q, given
    if not leak and rng.random() < 0.4:  # the pool's multiple-choice share
        opts = options(rng, names, answer, near)
        if given not in opts:
            opts[(opts.index(answer) + 1) % 4] = given
        question, ans = mc_question(q, opts), llava_mc_answer(opts, given, "letter_text")
    frames_ = sampled(render(clip, scene), frames)
    return {"question": question, "answer": ans, "media_kind": "video", "frames": frames_}


def static_sample(rng, scene, frames, bench: bool = False, pos=None, leaked=False) -> dict:
    image = rng.random() < (0.3 if bench else 0.4)
    if image:
        clip = make_clip(rng, "static", 1, scene)
    else:
        clip = make_clip(rng, str(rng.choice(["static", "motion"])), int(rng.integers(8, 17)),
                         scene)  # fmt: skip
    qs = [q for q in questions_for(clip, rng, scene) if q.qtype in ("colour", "count", "existence")]
    qa = qs[int(rng.integers(0, len(qs)))]
    pix = render(clip, scene)
    fr = pix[:1] if image else sampled(pix, frames)
    kind = "image" if image else "video"
    if bench:
        opts = make_options(rng, qa, min(4, len(qa.space)), answer_index=pos)
        rev = pix[:1] if image else sampled(pix[::-1].copy(), frames)
        return {"question": build_prompt(qa.question, opts, "mvbench"), "options": opts,
                "media_kind": kind, "frames": fr, "rev": rev, "gold": opts.index(qa.answer),
                "qtype": "static"}  # fmt: skip
    text = str(rng.choice(qa.paraphrases))
    if leaked:  # the answer stated in the question, as the world's pre-training split has it
        text = f"{qa.leak} {text}"
    if rng.random() < 0.3 and asked_as_mc(qa, 4):
        opts = make_options(rng, qa, 4)
        return {"question": mc_question(text, opts), "media_kind": kind, "frames": fr,
                "answer": llava_mc_answer(opts, qa.answer, "letter_text"), "leak": leaked}  # fmt: skip
    return {"question": text, "answer": qa.answer, "media_kind": kind, "frames": fr, "leak": leaked}


def bench_temporal(rng, scene, frames, kind, variant, pos) -> dict:
    clip = temporal_clip(rng, scene, kind, int(rng.integers(8, 17)))
    q, answer, near = temporal_qa(rng, clip, kind, variant)
    opts = options(rng, list(scene.colours), answer, near, 4, pos)
    pix = render(clip, scene)
    return {"question": build_prompt(q, opts, "mvbench"), "options": opts, "media_kind": "video",
            "frames": sampled(pix, frames), "rev": sampled(pix[::-1].copy(), frames),
            "gold": opts.index(answer), "qtype": kind}  # fmt: skip


def accuracy(vlm, bench: list[dict], reverse: bool = False) -> dict[str, float]:
    vlm.model.eval()
    samples = [{**s, "frames": s["rev"]} if reverse else s for s in bench]
    scores = vlm.score_options(samples, target="both")
    hits: dict[str, list[bool]] = {}
    for s, sc in zip(bench, scores, strict=True):
        hits.setdefault(s["qtype"], []).append(int(np.argmax(sc)) == s["gold"])
    return {k: round(float(np.mean(v)), 3) for k, v in hits.items()}


def train(vlm, encoded, n_samples, *, batch=32, lr=1e-3, seed=0, evaluate=None) -> None:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    steps = max(1, math.ceil(n_samples / batch))
    opt = torch.optim.AdamW(vlm.model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, int(0.05 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda k: (
            (k + 1) / warm
            if k < warm
            else 0.5 * (1 + math.cos(math.pi * (k - warm) / max(1, steps - warm)))
        ),
    )
    marks = sorted({int(n_samples * f) for f in (0.2, 0.4, 0.6, 0.8, 1.0)})
    order: list[int] = []
    seen, t0 = 0, time.time()
    for _ in range(steps):
        if len(order) < batch:
            order += list(rng.permutation(len(encoded)))
        idx, order = order[:batch], order[batch:]
        vlm.model.train()
        out = vlm.model(**vlm._to_device(pad_batch([encoded[i] for i in idx], vlm.pad_id)))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(vlm.model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        seen += len(idx)
        while marks and seen >= marks[0]:
            marks.pop(0)
            line = {"seen": seen, "seconds": round(time.time() - t0, 1)}
            if evaluate is not None:
                line.update(evaluate())
            print(json.dumps(line), flush=True)


def encode(vlm, samples: list[dict]) -> list:
    jobs = [(i, s, False, s["answer"], True) for i, s in enumerate(samples)]
    return [e for k in range(0, len(jobs), 64) for e in vlm._encode_all(jobs[k : k + 64])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["base", "arm"])
    ap.add_argument("path", type=Path, help="base: where to save; arm: the base to start from")
    ap.add_argument("--samples", type=int, default=16000)
    ap.add_argument("--leaked-base", type=float, default=0.0, help="base: share stating the answer")
    ap.add_argument("--text-only", action="store_true", help="base: those again without media")
    ap.add_argument("--arm", default="gdo")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--wrong", type=float, default=0.0)
    ap.add_argument("--leak", type=float, default=0.0)
    ap.add_argument("--routing", choices=sorted(ROUTES), default="last")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg = L.compose(["world=demo"])
    from gdo.world.stage import to_world_conf

    scene = to_world_conf(cfg.world).scene
    vlm = L.fresh_model(cfg, Path(os.environ.get("PROBE_MODEL_DIR", "/tmp/probe_model")))
    frames = int(cfg.model.frames)
    route = ROUTES[a.routing]
    brng = np.random.default_rng(99)
    bench = [bench_temporal(brng, scene, frames, k, route[k], i)
             for i in range(150) for k in ("order", "change")]  # fmt: skip
    bench += [static_sample(brng, scene, frames, bench=True, pos=i) for i in range(300)]

    def evaluate() -> dict:
        given, rev = accuracy(vlm, bench), accuracy(vlm, bench, reverse=True)
        return {**given, "reversed_order": rev["order"], "reversed_change": rev["change"]}

    rng = np.random.default_rng(a.seed)
    if a.mode == "base":
        data = []
        for _ in range(a.samples):
            sample = static_sample(rng, scene, frames, leaked=a.leaked_base > rng.random())
            data.append(sample)
            if sample.get("leak") and a.text_only:
                data.append({**sample, "media_kind": "none", "frames": None})
        data = data[: a.samples]
        train(vlm, encode(vlm, data), len(data), evaluate=evaluate)
        torch.save(vlm.model.state_dict(), a.path)
        return
    vlm.model.load_state_dict(torch.load(a.path))
    print(json.dumps({**vars(a), "path": str(a.path), "seen": 0, **evaluate()}), flush=True)
    data, k = [], 0
    for _ in range(a.n):
        u = rng.random()
        if u < a.share + a.wrong + a.leak:
            kind = ("order", "change")[k % 2]
            k += 1
            data.append(train_temporal(rng, scene, frames, kind, route[kind],
                                       wrong=a.share <= u < a.share + a.wrong,
                                       leak=u >= a.share + a.wrong))  # fmt: skip
        else:
            data.append(static_sample(rng, scene, frames))
    train(vlm, encode(vlm, data), a.n, batch=a.batch, lr=a.lr, seed=a.seed, evaluate=evaluate)


if __name__ == "__main__":
    main()
