"""Video inputs without torchvision, and the processor loader that needs them.

transformers' Qwen2-VL video processor (and even the construction of ``Qwen2VLProcessor``)
requires torchvision, which cannot be installed on the CPU machines this project targets.
``FramesVideoProcessor`` is a numpy port of ``Qwen2VLVideoProcessor`` for frames that are
already decoded and sampled (``gdo.media.load_media``): resize (PIL, bicubic, only when the
frame size is off the patch grid), rescale, normalise, pad the frame count to the temporal
patch, and patchify in exactly the stock order
``(t, h/merge, w/merge, merge_h, merge_w, channel, temporal, patch_h, patch_w)``.

``load_processor`` uses ``AutoProcessor`` whenever it works (real machines with torchvision get
the stock processors, untouched) and otherwise assembles the same processor class from its
tokenizer, its (Pillow) image processor and a ``FramesVideoProcessor`` configured from the
checkpoint's own video / image preprocessor config.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from gdo.utils.errors import InputError

VIDEO_CONFIG = "video_preprocessor_config.json"
IMAGE_CONFIG = "preprocessor_config.json"


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple:
    """Qwen2-VL's target size: multiples of ``factor`` with the pixel count in the range."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


class FramesVideoProcessor:
    """``pixel_values_videos`` + ``video_grid_thw`` for (T, H, W, 3) uint8 frame arrays.

    Same outputs as transformers' ``Qwen2VLVideoProcessor`` (called with
    ``do_sample_frames=False``) for frames whose size is already on the patch grid; off-grid
    frames are resized with Pillow's bicubic filter instead of torchvision's.
    """

    model_input_names = ["pixel_values_videos", "video_grid_thw"]

    def __init__(
        self,
        patch_size: int = 14,
        temporal_patch_size: int = 2,
        merge_size: int = 2,
        min_pixels: int = 128 * 28 * 28,
        max_pixels: int = 768 * 28 * 28,
        image_mean: list[float] | None = None,
        image_std: list[float] | None = None,
        rescale_factor: float = 1 / 255,
    ) -> None:
        from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

        self.patch_size, self.temporal_patch_size = int(patch_size), int(temporal_patch_size)
        self.merge_size = int(merge_size)
        self.min_pixels, self.max_pixels = int(min_pixels), int(max_pixels)
        self.image_mean = np.asarray(image_mean or OPENAI_CLIP_MEAN, dtype=np.float32)
        self.image_std = np.asarray(image_std or OPENAI_CLIP_STD, dtype=np.float32)
        self.rescale_factor = float(rescale_factor)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FramesVideoProcessor:
        """From a (video or image) preprocessor config dict as checkpoints store it."""
        size = config.get("size") or {}
        min_pixels = config.get("min_pixels") or size.get("shortest_edge") or 128 * 28 * 28
        max_pixels = config.get("max_pixels") or size.get("longest_edge") or 768 * 28 * 28
        return cls(
            patch_size=config.get("patch_size", 14),
            temporal_patch_size=config.get("temporal_patch_size", 2),
            merge_size=config.get("merge_size", 2),
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            image_mean=config.get("image_mean"),
            image_std=config.get("image_std"),
            rescale_factor=config.get("rescale_factor", 1 / 255),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stock ``Qwen2VLVideoProcessor`` config this processor reproduces."""
        return {
            "video_processor_type": "Qwen2VLVideoProcessor",
            "processor_class": "Qwen2VLProcessor",
            "patch_size": self.patch_size,
            "temporal_patch_size": self.temporal_patch_size,
            "merge_size": self.merge_size,
            "size": {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels},
            "image_mean": self.image_mean.tolist(),
            "image_std": self.image_std.tolist(),
            "rescale_factor": self.rescale_factor,
            "do_resize": True,
            "do_rescale": True,
            "do_normalize": True,
            "do_convert_rgb": True,
            "do_sample_frames": False,
            "resample": 3,
        }

    def _resize(self, frames: np.ndarray) -> np.ndarray:
        t, h, w, _ = frames.shape
        factor = self.patch_size * self.merge_size
        th, tw = smart_resize(h, w, factor, self.min_pixels, self.max_pixels)
        if (th, tw) == (h, w):
            return frames
        from PIL import Image

        return np.stack(
            [np.asarray(Image.fromarray(f).resize((tw, th), Image.BICUBIC)) for f in frames]
        )

    def patchify(self, frames: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """One video (T, H, W, 3) uint8 -> (patches, [grid_t, grid_h, grid_w])."""
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected frames of shape (T, H, W, 3), got {frames.shape}")
        frames = self._resize(np.asarray(frames, dtype=np.uint8))
        x = frames.astype(np.float32) * self.rescale_factor
        x = ((x - self.image_mean) / self.image_std).transpose(0, 3, 1, 2)  # T, C, H, W
        tp, ps, ms = self.temporal_patch_size, self.patch_size, self.merge_size
        if pad := -x.shape[0] % tp:
            # As the stock processor: repeat the last frame up to a whole temporal patch.
            x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        t, c, h, w = x.shape
        gt, gh, gw = t // tp, h // ps, w // ps
        x = x.reshape(gt, tp, c, gh // ms, ms, ps, gw // ms, ms, ps)
        x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
        return x.reshape(gt * gh * gw, c * tp * ps * ps), [gt, gh, gw]

    def __call__(
        self,
        videos: Any,
        return_tensors: str | None = None,
        video_metadata: list | None = None,
        return_metadata: bool = False,
        **_: Any,
    ) -> Any:
        """Process a list of videos; ``video_metadata`` is passed through when asked for
        (Qwen3-VL's processor reads frame timestamps from it); other kwargs are ignored."""
        from transformers.image_processing_utils import BatchFeature
        from transformers.video_utils import VideoMetadata

        if isinstance(videos, np.ndarray) and videos.ndim == 4:
            videos = [videos]
        videos = [np.asarray(v) for v in videos]
        patches, grids = zip(*(self.patchify(v) for v in videos), strict=True)
        data: dict[str, Any] = {
            "pixel_values_videos": np.concatenate(patches, axis=0),
            "video_grid_thw": np.asarray(grids, dtype=np.int64),
        }
        out = BatchFeature(data=data, tensor_type=return_tensors)
        if return_metadata:
            metadata = list(video_metadata or [None] * len(videos))
            for i, (meta, video) in enumerate(zip(metadata, videos, strict=True)):
                if meta is None:
                    meta = {
                        "total_num_frames": len(video),
                        "frames_indices": list(range(len(video))),
                    }
                metadata[i] = VideoMetadata(**meta) if isinstance(meta, dict) else meta
            out["video_metadata"] = metadata
        return out


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def processor_without_torchvision(path: str | Path) -> Any:
    """The checkpoint's processor class built with a ``FramesVideoProcessor`` (local folders)."""
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    folder = Path(path)
    proc_cfg = _read_json(folder / "processor_config.json")
    image_cfg = _read_json(folder / IMAGE_CONFIG) or proc_cfg.get("image_processor", {})
    video_cfg = _read_json(folder / VIDEO_CONFIG) or proc_cfg.get("video_processor", {})
    video_cfg = video_cfg or image_cfg
    class_name = (
        proc_cfg.get("processor_class") or image_cfg.get("processor_class") or "Qwen2VLProcessor"
    )
    base = getattr(transformers, class_name, None)
    if base is None:
        raise InputError(
            folder / "processor_config.json", None, "processor_class",
            "a processor class of the installed transformers", got=class_name,
        )  # fmt: skip

    class _Processor(base):  # type: ignore[misc, valid-type]
        # The stock check looks the video class up in transformers, which hides it
        # without torchvision; everything else is checked as usual.
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and isinstance(argument, FramesVideoProcessor):
                return FramesVideoProcessor
            return super().check_argument_for_proper_class(argument_name, argument)

    _Processor.__name__ = _Processor.__qualname__ = class_name
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = AutoImageProcessor.from_pretrained(folder)
    template = tokenizer.chat_template
    for name in ("chat_template.jinja", "chat_template.json"):
        if (folder / name).is_file():
            text = (folder / name).read_text()
            template = json.loads(text)["chat_template"] if name.endswith(".json") else text
            break
    return _Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=FramesVideoProcessor.from_config(video_cfg),
        chat_template=template,
    )


def load_processor(path: str | Path) -> Any:
    """``AutoProcessor.from_pretrained(path)`` with torchvision, else the equivalent above."""
    from transformers import AutoProcessor
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        return AutoProcessor.from_pretrained(path)
    from gdo.models.files import resolve_folder

    return processor_without_torchvision(resolve_folder(path))
