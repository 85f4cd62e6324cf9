"""Benchmarks: one script per benchmark, figures recorded in BENCHMARKS.md."""
