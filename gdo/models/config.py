"""Schema of ``conf/model/*.yaml`` (the VLM behind describe / train / evaluate). Owned by gdo.models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConf:
    name: str = "tiny_qwen2vl"
    path: str | None = None
