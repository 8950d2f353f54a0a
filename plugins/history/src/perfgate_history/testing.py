"""Helpers for tests of tools that read a run history: result documents of known values."""

from __future__ import annotations

from typing import Any


def result_document(run_id: str, started: float, latency: float, verdict: str = "pass",
                    status: str = "completed", metric: str = "http.req_duration",
                    regressed: bool = False) -> dict[str, Any]:
    """A minimal result document: a ``latency`` check (p(95) of ``metric``, in ms) measuring
    ``latency`` and an ``errors`` check (rate) measuring 1%, as a run ``run_id`` started at
    ``started``; with ``regressed``, a failed ``latency vs baseline`` check too."""
    doc: dict[str, Any] = {
        "schema": "perfgate-result/1",
        "run": {"id": run_id, "started": started, "finished": started + 10, "status": status},
        "verdict": verdict, "exit_code": 0 if verdict == "pass" else 1,
        "checks": [
            {"name": "latency", "metric": metric, "verdict": verdict,
             "aggregation": "p(95)", "measured": latency, "unit": "ms", "group": "targets",
             "scenario": "load"},
            {"name": "errors", "metric": "http.req_failed", "verdict": "pass",
             "aggregation": "rate", "measured": 0.01, "unit": "ratio", "group": "targets",
             "scenario": None},
        ],
        "metrics": [],
    }
    if regressed:
        doc["checks"].append({"name": "latency vs baseline", "metric": metric,
                              "verdict": "fail", "aggregation": "p(95)", "measured": latency,
                              "unit": "ms", "group": "baseline", "scenario": None})
        doc["verdict"], doc["exit_code"] = "fail", 1
    return doc
