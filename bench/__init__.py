"""Benchmarks (``python3 bench/run.py``): the harness, a latency proxy and the servers it runs."""
