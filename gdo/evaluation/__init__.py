"""Benchmark readers, answer extraction, aggregation and checkpoint evaluation."""
