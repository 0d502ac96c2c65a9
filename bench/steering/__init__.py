"""The steering bench's parts; the driver is bench/bench_steering.py."""
