"""Relay counters of one I/O loop, written only on that loop's thread."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoopStats:
    """Plain integers: only the owning loop writes them, so no lock; the
    stats line reads them from another thread and may be a moment behind."""

    frames_in: int = 0
    frames_out: int = 0
    drops: int = 0
    dropped_outside_room: int = 0

    @staticmethod
    def total(all_stats: list[LoopStats]) -> LoopStats:
        return LoopStats(
            sum(s.frames_in for s in all_stats), sum(s.frames_out for s in all_stats),
            sum(s.drops for s in all_stats), sum(s.dropped_outside_room for s in all_stats))
