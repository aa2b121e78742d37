"""SFT of a Qwen-VL model on a subset (transformers Trainer + DeepSpeed ZeRO-3).

Public API:

- ``gdo train`` = ``gdo.training.stage.run(cfg) -> <work_dir>/train/<goal>/``
- ``gdo pretrain`` = ``gdo.training.pretrain.run(cfg) -> <work_dir>/base_model/``
- ``gdo.training.stage.train_on_rows(...)``: the loop both stages share
- ``render_deepspeed(training.deepspeed) -> dict | None`` (``launch/ds_zero3.json``)
- ``plan_checkpoints``, ``list_checkpoints``, ``read_state``: ``ckpt-<samples>`` folders
"""

from gdo.training.checkpoints import list_checkpoints, plan_checkpoints, read_state
from gdo.training.ds_config import render_deepspeed

__all__ = ["list_checkpoints", "plan_checkpoints", "read_state", "render_deepspeed"]
