"""The baseline analysis: what a first run of a targets file says about the deployment.

From a run's result document (plus what was probed of its services while they ran):

- the environment: host, CPU, memory, Python, perfgate and plugin versions, containers and
  their images;
- each service's health (status and answer time of its health URL) and version (a
  ``version`` in the health answer's JSON, or a version header);
- each scenario: driver, status, requests and their p(95);
- every collector's view: each metric's main values, grouped by the collector's prefix;
- what to look at first: the slowest endpoints, the slowest statements, the busiest
  containers.

:func:`analyse` makes the ``baseline`` part of the baseline document; :func:`markdown`
renders the baseline report.
"""

from __future__ import annotations

import json
import os
import platform
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import psutil

from perfgate import (
    Metric,
    ResultDocument,
    RunContext,
    aggregation_unit,
    format_selector,
    format_value,
    hookimpl,
)

#: Keys of a health answer's JSON, and response headers, that carry a service's version.
VERSION_KEYS = ("version", "build", "git_commit", "commit", "revision")
VERSION_HEADERS = ("X-Version", "X-App-Version", "X-Build", "Server")
#: How many of each kind of "look at first" entries the report names.
FIRST = 3


def probe_service(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """One GET of a service's health URL: status, answer time and version, or the error."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            status, body, headers = answer.status, answer.read(65536), answer.headers
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(65536), exc.headers
    except (OSError, ValueError) as exc:
        return {"url": url, "healthy": False, "error": str(exc)}
    elapsed = (time.perf_counter() - started) * 1000
    return {"url": url, "healthy": 200 <= status < 300, "status": status,
            "answer_ms": round(elapsed, 3), "version": _version(body, headers)}


def _version(body: bytes, headers: Mapping[str, str]) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for key in VERSION_KEYS:
            if isinstance(doc.get(key), str | int | float):
                return str(doc[key])
    for header in VERSION_HEADERS:
        if headers.get(header):
            return str(headers[header])
    return None


class ServiceProbe:
    """Probes every service of the run once, while they run (as the first scenario ends)."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}

    @hookimpl
    def perfgate_scenario_finished(self, context: RunContext) -> None:
        if self.services:
            return
        for name, service in context.targets.services.items():
            if service.health is None:
                self.services[name] = {"url": service.url, "healthy": None,
                                       "error": "no health: URL to probe"}
                continue
            found = probe_service(context.service_url(name, service.health))
            self.services[name] = {k: context.redact(v) if isinstance(v, str) else v
                                   for k, v in found.items()}


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment(result: ResultDocument) -> dict[str, Any]:
    """The environment of the run, the result's own and the machine's."""
    env = result.environment
    containers = [{"collector": instance, "name": c.get("name"), "image": c.get("image")}
                  for instance, data in sorted(result.details.items())
                  if isinstance(data, Mapping)
                  for c in data.get("containers") or () if isinstance(c, Mapping)]
    return {
        "host": env.get("host"), "platform": env.get("platform"),
        "cpu": _cpu_model(), "cpu_count": env.get("cpu_count") or os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total, "python": env.get("python"),
        "perfgate": env.get("perfgate"),
        "plugins": [{"name": p.get("name"), "distribution": p.get("distribution"),
                     "version": p.get("version")} for p in env.get("plugins", [])
                    if p.get("distribution")],  # installed ones, not a run's own helpers
        "containers": containers,
    }


#: The values each kind of metric is summed up by, and the aggregation each one is.
SUMMARY = {"trend": {"count": "count", "avg": "avg", "p(95)": "p", "max": "max"},
           "rate": {"rate": "rate", "count": "count"},
           "counter": {"count": "count", "rate": "rate"},
           "gauge": {"avg": "avg", "max": "max", "value": "value"}}
#: The group of metrics whose name has no prefix (k6's ``data_received``, ``iterations``).
LOAD_GROUP = "load"


def _summary(metric: Metric) -> dict[str, Any]:
    values = metric.values()
    wanted = SUMMARY.get(metric.kind.value, {})
    return {"metric": format_selector(metric.name, metric.tags), "kind": metric.kind.value,
            "values": {key: {"value": values.get(key),
                             "unit": aggregation_unit(metric.kind, metric.unit, agg)}
                       for key, agg in wanted.items() if values.get(key) is not None}}


def collector_views(result: ResultDocument) -> dict[str, list[dict[str, Any]]]:
    """Each metric's main values, grouped by the prefix that names who measured it
    (``system``, ``postgres``, ``http``...)."""
    views: dict[str, list[dict[str, Any]]] = {}
    for metric in result.metric_set():
        if metric.window_scenario:  # a collector's series cut to a scenario: counted whole
            continue
        group = metric.name.split(".", 1)[0] if "." in metric.name else LOAD_GROUP
        views.setdefault(group, []).append(_summary(metric))
    return dict(sorted(views.items()))


def slowest_endpoints(result: ResultDocument) -> list[dict[str, Any]]:
    """Endpoints by p(95) of ``http.req_duration``, slowest first."""
    merged: dict[tuple[str, str], Metric] = {}
    for metric in result.metric_set("http.req_duration"):
        tags = metric.tags
        label = " ".join(p for p in (tags.get("method"), tags.get("name") or tags.get("url"))
                         if p) or "(all requests)"
        key = (tags.get("scenario", ""), label)
        if key in merged:
            merged[key].merge(metric)
        else:
            merged[key] = metric.copy()
    rows = [{"scenario": scenario, "endpoint": label, "requests": m.count,
             "p95_ms": m.aggregate("p", 95), "avg_ms": m.aggregate("avg")}
            for (scenario, label), m in merged.items() if m.count]
    return sorted(rows, key=lambda r: -(r["p95_ms"] or 0))


def slowest_statements(result: ResultDocument) -> list[dict[str, Any]]:
    """Database statements the collectors listed, by their mean time, slowest first."""
    rows = [{"collector": instance, **st}
            for instance, data in result.details.items() if isinstance(data, Mapping)
            for st in data.get("top_statements") or () if isinstance(st, Mapping)]
    return sorted(rows, key=lambda r: -(r.get("mean_ms") or 0))


def busiest_containers(result: ResultDocument) -> list[dict[str, Any]]:
    """Containers by their highest CPU (``docker.cpu``), busiest first."""
    rows = []
    for metric in result.metric_set("docker.cpu"):
        if metric.window_scenario:
            continue
        peak = metric.aggregate("max")
        if peak is not None:
            rows.append({"container": metric.tags.get("container", "?"), "cpu_max": peak,
                         "cpu_avg": metric.aggregate("avg")})
    return sorted(rows, key=lambda r: -r["cpu_max"])


def analyse(result: ResultDocument, services: Mapping[str, Any]) -> dict[str, Any]:
    """The ``baseline`` part of the baseline document."""
    scenarios = [{"name": s.get("name"), "driver": s.get("driver"), "status": s.get("status"),
                  "error": s.get("error")} for s in result.scenarios]
    return {
        "environment": environment(result),
        "services": dict(services),
        "scenarios": scenarios,
        "collectors": collector_views(result),
        "look_first": {"endpoints": slowest_endpoints(result)[:FIRST],
                       "statements": slowest_statements(result)[:FIRST],
                       "containers": busiest_containers(result)[:FIRST]},
    }


# -- the Markdown report ------------------------------------------------------------------------

def _cell(value: Any) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _first(look: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    items = []
    for e in look["endpoints"]:
        items.append(f"Slowest endpoint: `{e['endpoint']}` in scenario `{e['scenario']}`: "
                     f"p(95) {format_value(e['p95_ms'], 'ms')} over {e['requests']} "
                     "requests")
    for s in look["statements"]:
        query = " ".join(str(s.get("query", "")).split())[:120]
        items.append(f"Slowest statement ({s['collector']}): `{query}`: mean "
                     f"{format_value(s.get('mean_ms'), 'ms')} over {s.get('calls')} calls")
    for c in look["containers"]:
        items.append(f"Busiest container: `{c['container']}`: CPU up to "
                     f"{format_value(c['cpu_max'], '%')} (average "
                     f"{format_value(c['cpu_avg'], '%')})")
    return items or ["Nothing stands out: no requests, statements or containers were measured."]


def markdown(result: ResultDocument, analysis: Mapping[str, Any]) -> str:
    """The Markdown baseline report."""
    env = analysis["environment"]
    run = result.run
    title = run.get("targets_file", "")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.get("started", 0)))
    parts = [f"# Baseline analysis: {title}",
             f"Run `{run.get('id')}`, {started}, "
             f"{format_value(run.get('duration'), 's')} at time scale {run.get('time_scale')}; "
             f"gate verdict: **{result.verdict}** (exit {result.exit_code}).",
             "## Look at first",
             "\n".join(f"{i}. {item}" for i, item in
                       enumerate(_first(analysis["look_first"]), 1)),
             "## Environment",
             _table(["", ""], [
                 ["host", env["host"]], ["platform", env["platform"]], ["CPU", env["cpu"]],
                 ["cores", env["cpu_count"]],
                 ["memory", format_value(env["memory_bytes"], "B")],
                 ["Python", env["python"]], ["perfgate", env["perfgate"]],
                 *[[f"plugin {p['name']}", f"{p['distribution']} {p['version'] or ''}"]
                   for p in env["plugins"]],
                 *[[f"container {c['name']}", c["image"]] for c in env["containers"]]]),
             "## Services",
             _table(["service", "health URL", "healthy", "status", "answer", "version"], [
                 [name, s.get("url"), s.get("healthy"), s.get("status") or s.get("error"),
                  format_value(s.get("answer_ms"), "ms") if s.get("answer_ms") is not None
                  else "-", s.get("version")]
                 for name, s in analysis["services"].items()]) if analysis["services"]
             else "No services in the targets file.",
             "## Scenarios",
             _table(["scenario", "driver", "status", "error"],
                    [[s["name"], s["driver"], s["status"], s["error"]]
                     for s in analysis["scenarios"]]),
             "## What each collector saw"]
    for prefix, rows in analysis["collectors"].items():
        parts.append(f"### {prefix}")
        parts.append(_table(["metric", "kind", "values"], [
            [f"`{r['metric']}`", r["kind"],
             ", ".join(f"{k} {format_value(v['value'], v['unit'])}"
                       for k, v in r["values"].items())]
            for r in rows]))
    return "\n\n".join(parts) + "\n"
