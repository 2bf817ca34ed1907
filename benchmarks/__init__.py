"""Benchmarks: `make bench` (python -m benchmarks.bench) writes BENCHMARKS.md."""
