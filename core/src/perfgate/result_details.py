"""What components left in the result document's ``details``, read back by validators and
reporters.

:func:`scenario_details` finds what a driver recorded about each scenario under a key of its
own (``details.<scenario>.k6``, ``details.<scenario>.locust``).

A load driver that sends a W3C ``traceparent`` with its requests (the http driver's
``trace:``) keeps the slowest sampled ones per endpoint in its scenario's ``details``, under
``slowest``, slowest first::

    "details": {"load": {"slowest": {"records": [
      {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "duration_ms": 91.398, "status": 200}]}}}

Reporters read them with :func:`slowest_requests`, so a report points from the tail of the
latency to the traces of the requests that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfgate.result import ResultDocument


@dataclass(frozen=True)
class SlowRequest:
    """One kept request: its trace id, how long it took and how it ended."""

    trace_id: str
    duration_ms: float
    #: The status code, or the kind of error (``timeout``) when there was no answer.
    status: str


def trace_link(template: str | None, trace_id: str) -> str | None:
    """``template`` with ``{trace_id}`` filled in (a tracing UI's URL), or None."""
    return template.replace("{trace_id}", trace_id) if template else None


def scenario_details(result: ResultDocument, key: str) -> dict[str, dict[str, Any]]:
    """Scenario → what its driver recorded under ``details.<scenario>.<key>`` (a mapping).

    Scenarios come in the order of the result, then any other ``details`` entry with ``key``.
    """
    names = [str(s.get("name")) for s in result.scenarios]
    names += [n for n in result.details or {} if n not in names]
    found = {}
    for name in names:
        details = (result.details or {}).get(name)
        recorded = details.get(key) if isinstance(details, Mapping) else None
        if isinstance(recorded, dict):
            found[name] = recorded
    return found


def slowest_requests(result: ResultDocument) -> dict[str, dict[str, list[SlowRequest]]]:
    """Scenario → endpoint → its slowest traced requests, slowest first.

    Scenarios come as in :func:`scenario_details`, endpoints in name order; entries that are
    not shaped as above are left out.
    """
    found: dict[str, dict[str, list[SlowRequest]]] = {}
    for name, slowest in scenario_details(result, "slowest").items():
        endpoints = {}
        for endpoint, kept in sorted(slowest.items()):
            requests = [r for entry in kept or () if (r := _request(entry)) is not None]
            if requests:
                endpoints[str(endpoint)] = sorted(requests, key=lambda r: -r.duration_ms)
        if endpoints:
            found[name] = endpoints
    return found


def _request(entry: Any) -> SlowRequest | None:
    if not isinstance(entry, Mapping):
        return None
    trace_id, duration = entry.get("trace_id"), entry.get("duration_ms")
    if not isinstance(trace_id, str) or not isinstance(duration, int | float):
        return None
    return SlowRequest(trace_id, float(duration), str(entry.get("status", "")))
