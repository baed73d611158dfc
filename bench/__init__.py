"""Benchmarks: run one with ``python -m bench.<name>``, all with ``make bench``. Never part of the tests."""
