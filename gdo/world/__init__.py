"""The embedded synthetic world: shapes on a small canvas, written in real formats."""
