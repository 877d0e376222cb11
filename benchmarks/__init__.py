"""Benchmarks: measured against the real local control plane, never as timed tests."""
