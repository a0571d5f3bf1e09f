"""The relay as others would write it (asyncio, uvloop), for benchmarks/relay_bench.py to compare with ours.

They speak the same bytes as server/, so one load generator drives all of them.
"""
