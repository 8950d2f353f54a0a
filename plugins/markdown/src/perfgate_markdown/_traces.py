"""The slowest traced requests of each scenario, with their trace ids.

A driver that sends ``traceparent`` headers (the http driver's ``trace:``) keeps the slowest
sampled requests per endpoint; the table lists them, slowest first, so a reviewer goes from
the tail of the latency to the traces of the requests that made it. With ``trace_url`` (a
tracing UI's address with ``{trace_id}``) each id links to its trace.
"""

from __future__ import annotations

from urllib.parse import quote

from perfgate import ResultDocument, format_value, slowest_requests, trace_link
from perfgate_markdown._text import code, escape, table


def slowest(result: ResultDocument, trace_url: str | None = None) -> str:
    found = slowest_requests(result)
    if not found:
        return ""
    rows = []
    for scenario, endpoints in found.items():
        for endpoint, kept in endpoints.items():
            for request in kept:
                trace = code(request.trace_id)
                link = trace_link(trace_url, request.trace_id)
                if link:  # quoted: a space or a parenthesis would end the link
                    trace = f"[{trace}]({quote(link, safe=':/?&=#%@+~')})"
                rows.append([escape(endpoint), escape(scenario),
                             format_value(request.duration_ms, "ms"), escape(request.status),
                             trace])
    return "### Slowest requests\n\n" + table(
        ["Request", "Scenario", "Time", "Status", "Trace"], rows, ["l", "l", "r", "l", "l"])
