"""Schema of ``conf/logger/*.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoggerConf:
    name: str = "wandb"  # wandb | none
    project: str = "gdo"
    entity: str | None = None
    group: str | None = None
    mode: str = "offline"  # offline | online | disabled; WANDB_MODE overrides
    tags: list[str] = field(default_factory=list)
