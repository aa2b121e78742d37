"""SFT of a Qwen-VL model on a subset (transformers Trainer + DeepSpeed ZeRO-3)."""
