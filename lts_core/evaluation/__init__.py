"""Figures over many runs: ``bench``, ``bench_report``, ``report``, ``poison_bench``.
"""
