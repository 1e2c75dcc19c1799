"""Benchmarks: `make bench` (bench/run.py) and `make bench-contention` (bench/contention.py)."""
