"""The GPU bench (bench/bench_gpu.py) in parts: scales, measuring, the two sections."""
