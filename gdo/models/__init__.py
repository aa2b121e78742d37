"""The one VLM interface (Qwen2-VL / Qwen3-VL) used by describe, train and evaluate.

A *sample* is a dict, normally a candidate row (docs/ARCHITECTURE.md):

- ``question`` (str), ``answer`` (str; may be missing for ``generate`` / ``score_options``),
- ``media_kind``: ``image`` | ``video`` | ``frames`` | ``none``; ``media``: list of paths,
  loaded with ``gdo.media.load_media(kind, paths, model.frames, model.max_pixels)``,
- or ``frames``: a preloaded ``np.ndarray`` (T, H, W, 3) uint8 that bypasses loading
  (T == 1 is an image, T > 1 a video),
- optional ``options`` (list[str], option texts without letters) and ``answer_letter``.

The prompt is the question as it stands (MCQ option lines are already in it); the target is
``answer``. Everything below goes through ``from_pretrained``, for the tiny model and for real
ones alike::

    from gdo.models import build_tiny, load_model
    folder = build_tiny(cfg.model, out_dir, vocabulary=["red", "blue", ...])
    vlm = load_model(cfg.model, folder)          # or load_model(cfg.model) for model.path
    visual, blind = vlm.losses(samples)          # np.ndarray (N,), (N,)
    texts = vlm.generate(samples, n=1)           # list[list[str]]
    scores = vlm.score_options(samples)          # list[np.ndarray (n_options,)]
    batch = vlm.collate(samples)                 # training tensors, labels on the answer only

Public API:

- ``load_model(model_cfg, path=None, device="cpu") -> VLM``
- ``build_tiny(model_cfg, out_dir, vocabulary) -> Path``
- ``vocabulary_from_texts(texts) -> list[str]``: the words the tiny tokenizer needs
- ``VLM.loss(samples, blind=False) -> np.ndarray``: per-sample mean answer-token
  cross-entropy (nats); ``blind=True`` drops the visual tokens (text-only prompt)
- ``VLM.losses(samples) -> (visual, blind)``: both, in one batched pass where possible
- ``VLM.generate(samples, n=1, temperature=0.0, top_p=1.0, max_new_tokens=32)``
- ``VLM.score_options(samples, target="text") -> list[np.ndarray]``: summed log-prob of each
  option's continuation (``text``: the option text, ``letter``: its letter, ``both``: "A. text")
- ``VLM.collate(samples, blind=False) -> dict[str, torch.Tensor]``; ``VLM.prompt(sample)``
- ``VLM.frames`` / ``VLM.max_pixels``; ``SampleTooLong`` (raised after media truncation fails;
  batch methods raise it with ``.index`` set so callers can count and skip the sample)
"""

from gdo.models.errors import SampleTooLong
from gdo.models.loading import load_model
from gdo.models.tiny import build_tiny, vocabulary_from_texts
from gdo.models.vlm import VLM

__all__ = ["VLM", "SampleTooLong", "build_tiny", "load_model", "vocabulary_from_texts"]
