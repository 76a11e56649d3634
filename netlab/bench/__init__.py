"""Benchmarks: each prints figures and ratios, and leaves nothing behind."""
