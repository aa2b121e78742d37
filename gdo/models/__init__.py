"""The VLM interface (Qwen2-VL / Qwen3-VL) used by describe, train and evaluate."""
