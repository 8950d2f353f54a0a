"""The demo is fast enough for its gate: 100 connections get well over 500 req/s.

The client shares the machine with the service, as perfgate's load driver does in the demo.
The service's own request counters must match what the client sent, exactly.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

VUS = 100
DURATION = 2.0
PATHS = ["/health", "/api/records", "/api/records", "/api/records"]


async def _load(url: str) -> tuple[dict[str, int], int, float]:
    sent = dict.fromkeys(set(PATHS), 0)
    failures = 0
    connector = aiohttp.TCPConnector(limit=VUS)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        deadline = time.monotonic() + DURATION

        async def vu(offset: int) -> None:
            nonlocal failures
            i = offset
            while time.monotonic() < deadline:
                path = PATHS[i % len(PATHS)]
                i += 1
                async with session.get(path) as response:
                    await response.read()
                    sent[path] += 1
                    failures += response.status != 200

        started = time.monotonic()
        await asyncio.gather(*(vu(n) for n in range(VUS)))
        elapsed = time.monotonic() - started
    return sent, failures, elapsed


def test_100_connections_get_well_over_500_requests_per_second(demo):
    sent, failures, elapsed = asyncio.run(_load(demo.url))
    total = sum(sent.values())
    assert failures == 0
    assert total / elapsed > 1000, f"{total} requests in {elapsed:.2f}s"

    m = demo.metrics()
    served = {path: int(m.get(
        f'demo_http_request_duration_seconds_count{{method="GET",route="{path}",status="200"}}',
        0))
        for path in sent}
    assert served == sent
    hits = m['demo_cache_hits_total{cache="pages"}']
    misses = m['demo_cache_misses_total{cache="pages"}']
    assert hits + misses == sent["/api/records"]
    assert misses <= VUS  # only the first reads before the page was cached
