"""Micro-benchmark: work-queue throughput through add → get → done.  Not a test.

Queues ``--keys`` distinct keys spread over 100 namespaces, then lets 1, 4 and
16 worker coroutines take them until all are done; prints keys per second, the
best of ``--repeat`` runs.  Two worker bodies are measured: ``bare`` (get then
done at once: the queue's own cost) and ``yield`` (one ``asyncio.sleep(0)``
between get and done, as any reconcile awaits at least once).

    python benchmarks/micro_workqueue.py [--keys 100000] [--repeat 3] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from syncer.keys import ObjectKey
from syncer.workqueue import ShutDown, WorkQueue

WORKER_COUNTS = (1, 4, 16)


async def one_run(*, keys: list[ObjectKey], workers: int, yield_per_key: bool) -> float:
    """Seconds to push every key through add/get/done with ``workers`` coroutines."""
    queue: WorkQueue[ObjectKey] = WorkQueue(name="bench")
    remaining = len(keys)
    finished = asyncio.Event()

    async def worker() -> None:
        nonlocal remaining
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            if yield_per_key:
                await asyncio.sleep(0)
            queue.done(key)
            remaining -= 1
            if not remaining:
                finished.set()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await asyncio.sleep(0)  # let the workers park in get()
    started = time.perf_counter()
    for key in keys:
        queue.add(key)
    await finished.wait()
    elapsed = time.perf_counter() - started
    await queue.shut_down(drain=True)
    await asyncio.gather(*tasks)
    return elapsed


async def main(*, key_count: int, repeat: int) -> None:
    keys = [ObjectKey("Pod", f"ns-{i % 100}", f"pod-{i}") for i in range(key_count)]
    print(f"{key_count} keys, best of {repeat}; keys/s")
    print(f"{'workers':>8} {'bare':>12} {'yield':>12}")
    for workers in WORKER_COUNTS:
        rates = []
        for yield_per_key in (False, True):
            best = min(
                [
                    await one_run(keys=keys, workers=workers, yield_per_key=yield_per_key)
                    for _ in range(repeat)
                ]
            )
            rates.append(key_count / best)
        print(f"{workers:>8} {rates[0]:>12,.0f} {rates[1]:>12,.0f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    coro = main(key_count=args.keys, repeat=args.repeat)
    if args.uvloop:
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    cli()
