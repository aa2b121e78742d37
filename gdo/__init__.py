"""gdo: goal-driven data optimization for multimodal instruction tuning."""

__version__ = "0.1.0"
