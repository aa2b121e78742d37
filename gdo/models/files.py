"""The files of a model folder: a hub id's local snapshot, the processor files to copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from gdo.utils.io import atomic_write_with

# Everything of a checkpoint folder that is not weights or model config: the processor.
PROCESSOR_FILES = (
    "tokenizer*", "vocab*", "merges.txt", "special_tokens_map.json", "added_tokens.json",
    "*preprocessor_config.json", "processor_config.json", "chat_template.*",
)  # fmt: skip


def resolve_folder(path: str | Path) -> Path:
    """A local folder for ``path``: itself, or the cached snapshot of a hub id (no download)."""
    folder = Path(path)
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(path), local_files_only=True))


def copy_processor_files(src: str | Path, dst: str | Path) -> list[str]:
    """Copy the tokenizer / processor / chat template files of checkpoint ``src`` into ``dst``.

    For checkpoints whose weights were saved by someone else (the Trainer, DeepSpeed), so that
    ``load_model(model_cfg, dst)`` finds the same processor. Returns the file names copied.
    """
    src, dst = resolve_folder(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for pattern in PROCESSOR_FILES:
        for file in sorted(src.glob(pattern)):
            if file.is_file():
                atomic_write_with(dst / file.name, lambda tmp, f=file: shutil.copyfile(f, tmp))
                copied.append(file.name)
    return copied
