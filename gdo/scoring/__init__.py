"""The shared quality score and candidate score."""
