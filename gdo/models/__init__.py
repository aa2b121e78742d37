"""The one VLM interface (Qwen2-VL / Qwen3-VL) used by describe, train and evaluate.

A *sample* is a dict, normally a candidate row (docs/ARCHITECTURE.md):

- ``question`` (str), ``answer`` (str; may be missing for ``generate`` / ``score_options``),
- ``media_kind``: ``image`` | ``video`` | ``frames`` | ``none``; ``media``: list of paths,
  loaded with ``gdo.media.load_media(kind, paths, model.frames, model.max_pixels)``,
- or ``frames``: a preloaded ``np.ndarray`` (T, H, W, 3) uint8 that bypasses loading
  (``media_kind`` image: T images, video/frames: one clip; without a kind T == 1 is an
  image, T > 1 a video),
- optional ``options`` (list[str], option texts without letters), ``answer_letter``,
  ``duration_s`` (Qwen3-VL frame timestamps) and ``uid`` (named in error messages).

The prompt is the question as it stands (MCQ option lines are already in it); the target is
``answer``. Everything below goes through ``from_pretrained``, for the tiny model and for real
ones alike::

    from gdo.models import build_tiny, load_model
    folder = build_tiny(cfg.model, out_dir, vocabulary=["red", "blue", ...])
    vlm = load_model(cfg.model, folder)          # or load_model(cfg.model) for model.path
    visual, blind = vlm.losses(samples)          # np.ndarray (N,), (N,)
    texts = vlm.generate(samples, n=1)           # list[list[str]]
    scores = vlm.score_options(samples)          # list[np.ndarray (n_options,)]
    batch = vlm.collate(samples)                 # training tensors, labels on the answer

Public API:

- ``load_model(model_cfg, path=None, device=None) -> VLM``: ``AutoProcessor`` +
  ``AutoModelForImageTextToText.from_pretrained`` (``model.dtype``,
  ``model.attn_implementation``) on ``device`` (default: ``model.device`` for this rank,
  ``gdo.models.device``); where torchvision is missing the processor is assembled
  with ``gdo.models.video.FramesVideoProcessor`` (same patches as the stock video processor)
- ``build_tiny(model_cfg, out_dir, vocabulary) -> Path``; ``vocabulary_from_texts(texts)``
  gives the words (as the tiny tokenizer splits them) that ``vocabulary`` should hold
- ``VLM.loss(samples, blind=False) -> np.ndarray (N,)``: mean cross-entropy (nats) over the
  answer tokens; ``blind=True`` drops the visual tokens (text-only prompt: no pixels, no grid)
- ``VLM.losses(samples) -> (visual, blind)``: both, visual and blind rows in one forward pass
- ``VLM.generate(samples, n=1, temperature=0.0, top_p=1.0, max_new_tokens=32, seed=None)
  -> list[list[str]]``: greedy when temperature == 0, left-padded batches
- ``VLM.score_options(samples, target="text", end=True) -> list[np.ndarray]``: summed
  log-probability of each option as the answer (``text``: "red", ``letter``: "A", ``both``:
  "A. red"), plus the end-of-turn token when ``end``; the argmax is the likelihood choice
- ``VLM.collate(samples, blind=False, end=True) -> dict[str, torch.Tensor]``: right-padded
  input_ids, attention_mask, mm_token_type_ids, labels (-100 except answer + end token),
  pixel_values / image_grid_thw, pixel_values_videos / video_grid_thw
- ``VLM.encode_each(samples) -> list[Encoded | SampleTooLong]`` and
  ``VLM.collate_encoded(items)``: the same batches from encodings made once (plus
  ``position_ids``), for training rows encoded before the first step
- ``VLM.save_pretrained(out_dir)``: weights + the source's processor files (a checkpoint
  ``load_model`` reloads); ``copy_processor_files(src, dst)`` adds the processor files to a
  folder whose weights someone else saved (Trainer / DeepSpeed)
- ``VLM.load_media(sample)``: the frames as the model sees them (reuse via ``frames``)
- ``with VLM.reuse_encodings():`` calls in the block process each prompt once (same
  question, same ``frames`` array): e.g. ``losses`` then ``generate`` on the same rows;
  each media also goes through the vision tower once (``VLM.reuse_vision``): the sampling
  prefill of ``generate`` takes the loss pass's vision features
- a prompt processed in a batched processor call keeps its M-RoPE positions, and the
  loss pass and the sampling prefill assemble their batch's positions from them instead
  of running transformers' per-row loop on each pass (``gdo.models.fast.positions``)
- ``VLM.prepare_encodings(samples)``: each sample's visual and blind prompt encoded now
  (chat template, tokens, pixel patches, positions), thread-safe against the model's
  calls (a processor copy of its own); ``with VLM.reuse_encodings(made):`` takes them
  (describe's ``descriptors.prefetch_inputs``)
- ``losses`` runs a chunk's visual rows and its (text-only, shorter) blind rows in
  separate passes of up to ``batch_size`` rows, so blind rows are not padded to the visual
  length
- sampling (``temperature > 0``, ``n > 1``) prefills each prompt once and repeats its KV
  cache ``n`` times (``VLM.prefill_once``; False gives HF's ``n`` prefills, same answers),
  with room for ``max_new_tokens`` reserved in it (no per-step concatenation)
- ``VLM.prompt(sample, blind=False)``, ``VLM.frames``, ``VLM.max_pixels``, ``VLM.tokenizer``,
  ``VLM.stats`` (``frames_truncated``, ``unknown_tokens``: put them in your manifest)

Errors: a sample longer than ``model.max_length`` first loses frames (down to
``model.min_frames``), then raises ``SampleTooLong``; batch methods encode every sample first
and raise one ``SampleTooLong`` whose ``.indices`` lists every too-long position. Other bad
input (``InputError``) and unreadable media (``gdo.media.MediaError``) are raised with
``.index`` set to the sample's position.
"""

from gdo.models.errors import SampleTooLong
from gdo.models.files import copy_processor_files
from gdo.models.loading import load_model
from gdo.models.tiny import build_tiny, vocabulary_from_texts
from gdo.models.vlm import VLM

__all__ = [
    "VLM",
    "SampleTooLong",
    "build_tiny",
    "copy_processor_files",
    "load_model",
    "vocabulary_from_texts",
]
