"""What one durable screening decision costs: ``PRAGMA synchronous`` NORMAL (the store's default) vs FULL.

WAL + NORMAL: a committed decision survives the process being killed (the WAL is in the
OS page cache) but the last commits may be lost on power loss or an OS crash. WAL + FULL
fsyncs the WAL at every commit, so a decision also survives power loss.

Run: ``python benchmarks/store_durability.py [N]`` (default N = 300 decisions per mode).
Prints median and 95th-percentile milliseconds per ``Store.add_decision`` call.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from review.core.records import Record
from review.core.store import Store


def measure(mode: str, n: int, folder: Path) -> list[float]:
    store = Store(folder / f"{mode}.sqlite")
    store.add_records([Record(id=f"R{i}", title=f"record {i}") for i in range(n)])
    store.conn.execute(f"PRAGMA synchronous={mode}")
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        store.add_decision(f"R{i}", "include" if i % 3 else "exclude", "ann")
        times.append((time.perf_counter() - t0) * 1000)
    store.close()
    return times


def main(n: int = 300) -> None:
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:  # the repo's disk, not tmpfs
        for mode in ("NORMAL", "FULL", "NORMAL", "FULL"):
            t = sorted(measure(mode, n, Path(tmp)))
            print(f"synchronous={mode:<6} add_decision: median {statistics.median(t):.2f} ms, "
                  f"p95 {t[int(0.95 * len(t))]:.2f} ms, max {t[-1]:.2f} ms  (n={n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
