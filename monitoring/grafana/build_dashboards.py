"""Write the Grafana dashboards of perfgate's monitoring stack as JSON.

The dashboards are checked in (``dashboards/*.json``, what Grafana's provisioning loads); this
script is where they are defined, so that the six share one layout, one datasource and one set
of thresholds (the performance plan's). After changing it::

    python monitoring/grafana/build_dashboards.py

The test suite checks that the JSON files are what this script writes, that they have the
structure Grafana requires, and that every query names a metric the demo service, the node
exporter or perfgate's Pushgateway reporter really exports.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
SCHEMA_VERSION = 39
WIDTH = 24  # Grafana's grid is 24 columns wide

#: The plan's thresholds: (colour, from) steps as Grafana draws them.
LATENCY = [("green", None), ("yellow", 0.2), ("orange", 0.4), ("red", 1)]
ERRORS = [("green", None), ("yellow", 0.05), ("orange", 0.1), ("red", 0.2)]
PERCENT = [("green", None), ("orange", 80), ("red", 95)]
HIT_RATE = [("red", None), ("orange", 0.5), ("yellow", 0.7), ("green", 0.8)]
DB_LATENCY = [("green", None), ("orange", 0.1), ("red", 0.5)]
IO = [("green", None), ("orange", 100e6), ("red", 500e6)]

SELECT = '{job=~"$job"}'
API = '{job=~"$job",route!="/metrics"}'
RATE = "$__rate_interval"


@dataclass
class Panel:
    """One panel: a title, its queries (``expr`` or ``(expr, legend)``) and how to show them."""

    title: str
    queries: list[str | tuple[str, str]]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    thresholds: list[tuple[str, float | None]] = field(default_factory=list)
    description: str = ""
    instant: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    mappings: list[dict[str, Any]] = field(default_factory=list)

    def render(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        targets = []
        for ref, query in zip("ABCDEFGH", self.queries, strict=False):
            expr, legend = (query, "") if isinstance(query, str) else query
            target: dict[str, Any] = {"refId": ref, "datasource": PROMETHEUS, "expr": expr,
                                      "legendFormat": legend or "__auto"}
            if self.instant:
                target |= {"instant": True, "range": False, "format": "table"}
            targets.append(target)
        defaults: dict[str, Any] = {"unit": self.unit, "mappings": self.mappings}
        if self.thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": [
                {"color": colour, "value": value} for colour, value in self.thresholds]}
            if self.kind == "timeseries":
                defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        return {
            "id": panel_id, "type": self.kind, "title": self.title,
            "description": self.description, "datasource": PROMETHEUS,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": self.options,
        }


def job_variable(metric: str) -> dict[str, Any]:
    """A ``$job`` template variable over the jobs that export ``metric``."""
    query = f"label_values({metric}, job)"
    return {"name": "job", "label": "Job", "type": "query", "datasource": PROMETHEUS,
            "query": {"query": query, "refId": "job"}, "definition": query,
            "includeAll": True, "multi": True, "allValue": ".+", "refresh": 2,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}}


def dashboard(uid: str, title: str, description: str, rows: list[list[Panel]],
              variables: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    """A dashboard whose panels are laid out row by row, left to right."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        x = 0
        assert sum(p.width for p in row) <= WIDTH, f"{title}: a row wider than {WIDTH}"
        for panel in row:
            panels.append(panel.render(len(panels) + 1, x, y))
            x += panel.width
        y += max(p.height for p in row)
    return {
        "uid": uid, "title": title, "description": description, "tags": ["perfgate", *tags],
        "editable": True, "graphTooltip": 1, "schemaVersion": SCHEMA_VERSION, "version": 1,
        "time": {"from": "now-30m", "to": "now"}, "refresh": "10s", "timezone": "browser",
        "templating": {"list": variables}, "annotations": {"list": []}, "links": [],
        "panels": panels,
    }


def quantile(q: float, metric: str, selector: str, by: str = "") -> str:
    group = f"{by}, le" if by else "le"
    return (f"histogram_quantile({q}, sum by ({group}) "
            f"(rate({metric}_bucket{selector}[{RATE}])))")


def api_performance() -> dict[str, Any]:
    duration = "demo_http_request_duration_seconds"
    count = f"{duration}_count"
    errors = (f'sum(rate({count}{{job=~"$job",status=~"5.."}}[{RATE}])) '
              f"/ sum(rate({count}{API}[{RATE}]))")
    return dashboard(
        "perfgate-api", "API Performance Overview",
        "The service's own view of its requests: rate, latency percentiles from its histogram, "
        "5xx share, requests in flight.",
        [[Panel("Requests per second", [f"sum(rate({count}{API}[{RATE}]))"], "stat", "reqps",
                6, 4),
          Panel("p95 response time", [quantile(0.95, duration, API)], "stat", "s", 6, 4,
                LATENCY, "Target 200 ms, warning 400 ms, critical 1 s."),
          Panel("5xx share", [errors], "stat", "percentunit", 6, 4, ERRORS,
                "Target 5 %, warning 10 %, critical 20 %."),
          Panel("In flight", [f"sum(demo_http_requests_in_flight{SELECT})"], "stat", "short",
                6, 4)],
         [Panel("Response time percentiles", [
             (quantile(0.5, duration, API), "p50"), (quantile(0.95, duration, API), "p95"),
             (quantile(0.99, duration, API), "p99")], unit="s", thresholds=LATENCY),
          Panel("p95 by route", [(quantile(0.95, duration, API, "route"), "{{route}}")],
                unit="s", thresholds=LATENCY)],
         [Panel("Requests per second by route and status", [
             (f"sum by (route, status) (rate({count}{API}[{RATE}]))",
              "{{route}} {{status}}")], unit="reqps"),
          Panel("5xx answers per second by route", [
              (f'sum by (route, status) (rate({count}{{job=~"$job",status=~"5.."}}[{RATE}]))',
               "{{route}} {{status}}")], unit="reqps")],
         [Panel("Requests in flight", [(f"sum by (job) (demo_http_requests_in_flight{SELECT})",
                                        "{{job}}")], width=24, height=6)]],
        [job_variable(count)], ["api"])


def database() -> dict[str, Any]:
    query = "demo_db_query_duration_seconds"
    return dashboard(
        "perfgate-database", "Database Performance",
        "Queries as the service timed them, by operation, and the database checks of the last "
        "gate runs.",
        [[Panel("Queries per second", [f"sum(rate({query}_count{SELECT}[{RATE}]))"], "stat",
                "ops", 8, 4),
          Panel("p95 query time", [quantile(0.95, query, SELECT)], "stat", "s", 8, 4,
                DB_LATENCY, "Target 100 ms, critical 500 ms."),
          Panel("Records", [f"sum(demo_records{SELECT})"], "stat", "short", 8, 4)],
         [Panel("p95 query time by operation",
                [(quantile(0.95, query, SELECT, "operation"), "{{operation}}")], unit="s",
                thresholds=DB_LATENCY),
          Panel("Queries per second by operation", [
              (f"sum by (operation) (rate({query}_count{SELECT}[{RATE}]))", "{{operation}}")],
                unit="ops")],
         [Panel("Average query time by operation", [
             (f"sum by (operation) (rate({query}_sum{SELECT}[{RATE}])) / "
              f"sum by (operation) (rate({query}_count{SELECT}[{RATE}]))", "{{operation}}")],
                unit="s"),
          Panel("Database checks of the last gate runs", [
              ('perfgate_check_value{metric=~"postgres.*"}', "")], "table", instant=True)]],
        [job_variable(f"{query}_count")], ["database"])


def cache() -> dict[str, Any]:
    hits, misses = "demo_cache_hits_total", "demo_cache_misses_total"
    ratio = (f"sum(rate({hits}{SELECT}[{RATE}])) / (sum(rate({hits}{SELECT}[{RATE}])) "
             f"+ sum(rate({misses}{SELECT}[{RATE}])))")
    by_cache = (f"sum by (cache) (rate({hits}{SELECT}[{RATE}])) / (sum by (cache) "
                f"(rate({hits}{SELECT}[{RATE}])) + sum by (cache) "
                f"(rate({misses}{SELECT}[{RATE}])))")
    return dashboard(
        "perfgate-cache", "Cache Hit Rates and Performance",
        "The read cache in front of the database: share of lookups it answered, hits and "
        "misses per second, entries.",
        [[Panel("Hit rate", [ratio], "stat", "percentunit", 8, 4, HIT_RATE,
                "Target 80 %, warning below 70 %, critical below 50 %."),
          Panel("Lookups per second", [f"sum(rate({hits}{SELECT}[{RATE}])) + "
                                       f"sum(rate({misses}{SELECT}[{RATE}]))"], "stat", "ops",
                8, 4),
          Panel("Entries", [f"sum(demo_cache_entries{SELECT})"], "stat", "short", 8, 4)],
         [Panel("Hit rate by cache", [(by_cache, "{{cache}}")], unit="percentunit",
                thresholds=HIT_RATE),
          Panel("Hits and misses per second", [
              (f"sum by (cache) (rate({hits}{SELECT}[{RATE}]))", "{{cache}} hits"),
              (f"sum by (cache) (rate({misses}{SELECT}[{RATE}]))", "{{cache}} misses")],
                unit="ops")],
         [Panel("Entries by cache", [(f"sum by (cache) (demo_cache_entries{SELECT})",
                                      "{{cache}}")], width=24, height=6)]],
        [job_variable(hits)], ["cache"])


def system() -> dict[str, Any]:
    cpu = (f'100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}'
           f"[{RATE}])))")
    memory = "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
    return dashboard(
        "perfgate-system", "System Resource Utilisation",
        "The host (node exporter) and the service's process: CPU, memory, disk and network.",
        [[Panel("Host CPU", [cpu], "gauge", "percent", 6, 5, PERCENT,
                "Target 80 %, limit 95 %."),
          Panel("Host memory", [memory], "gauge", "percent", 6, 5, PERCENT,
                "Target 80 %, limit 95 %."),
          Panel("Service CPU (one core = 100 %)", [
              f"100 * rate(process_cpu_seconds_total{SELECT}[{RATE}])"], "stat", "percent",
                6, 5),
          Panel("Service memory (resident)", [f"process_resident_memory_bytes{SELECT}"],
                "stat", "bytes", 6, 5)],
         [Panel("Host CPU and memory", [(cpu, "CPU {{instance}}"),
                                        (memory, "memory {{instance}}")], unit="percent",
                thresholds=PERCENT),
          Panel("Service process", [
              (f"100 * rate(process_cpu_seconds_total{SELECT}[{RATE}])", "CPU % {{job}}"),
              (f"process_open_fds{SELECT}", "open files {{job}}")])],
         [Panel("Disk I/O", [
             (f"sum by (instance) (rate(node_disk_read_bytes_total[{RATE}]))", "read"),
             (f"sum by (instance) (rate(node_disk_written_bytes_total[{RATE}]))", "written")],
                unit="Bps", thresholds=IO, description="Target 100 MB/s, limit 500 MB/s."),
          Panel("Network I/O", [
              (f'sum by (instance) (rate(node_network_receive_bytes_total{{device!="lo"}}'
               f"[{RATE}]))", "received"),
              (f'sum by (instance) (rate(node_network_transmit_bytes_total{{device!="lo"}}'
               f"[{RATE}]))", "sent")], unit="Bps", thresholds=IO,
                description="Target 100 MB/s, limit 1 GB/s.")]],
        [job_variable("process_cpu_seconds_total")], ["system"])


def user_experience() -> dict[str, Any]:
    bucket = "demo_http_request_duration_seconds_bucket"
    count = "demo_http_request_duration_seconds_count"
    page = '{job=~"$job",route=~"/|/static/.*"}'
    apdex = (f'(sum(rate({bucket}{{job=~"$job",route!="/metrics",le="0.2"}}[{RATE}])) + '
             f'sum(rate({bucket}{{job=~"$job",route!="/metrics",le="0.8"}}[{RATE}]))) / 2 '
             f"/ sum(rate({count}{API}[{RATE}]))")
    fast = (f'sum(rate({bucket}{{job=~"$job",route!="/metrics",le="0.2"}}[{RATE}])) '
            f"/ sum(rate({count}{API}[{RATE}]))")
    failed = (f'sum(rate({count}{{job=~"$job",route!="/metrics",status=~"[45].."}}[{RATE}])) '
              f"/ sum(rate({count}{API}[{RATE}]))")
    return dashboard(
        "perfgate-user-experience", "User Experience",
        "What users get: Apdex (T = 200 ms), answers within the target, page and asset "
        "times, failed answers, sign-ins, and the latency perfgate's virtual users measured.",
        [[Panel("Apdex (T = 200 ms)", [apdex], "stat", "percentunit", 6, 4,
                [("red", None), ("orange", 0.7), ("yellow", 0.85), ("green", 0.94)]),
          Panel("Answered within 200 ms", [fast], "stat", "percentunit", 6, 4,
                [("red", None), ("orange", 0.9), ("green", 0.95)]),
          Panel("Failed answers (4xx and 5xx)", [failed], "stat", "percentunit", 6, 4, ERRORS),
          Panel("Sign-ins per second", [f"sum(rate(demo_logins_total{SELECT}[{RATE}]))"],
                "stat", "ops", 6, 4)],
         [Panel("Page and assets p95", [(quantile(0.95, "demo_http_request_duration_seconds",
                                                   page, "route"), "{{route}}")], unit="s",
                thresholds=LATENCY),
          Panel("Apdex over time", [(apdex, "Apdex")], unit="percentunit")],
         [Panel("Latency the virtual users measured (perfgate, by run)", [
             ('perfgate_http_req_duration_seconds{quantile="0.95"}', "{{targets}} {{scenario}}")],
                unit="s", thresholds=LATENCY, width=24,
                description="Client-side p95 of each gate run's scenarios, as pushed by "
                            "perfgate: the service's time plus network and queueing.")]],
        [job_variable(count)], ["ux"])


def gate_runs() -> dict[str, Any]:
    # pass 0, warn 1, fail 2, error 3: the worst verdict of each targets file's last run.
    level = ('max by (targets) (perfgate_run_verdict{verdict="pass"} * 0 '
             'or perfgate_run_verdict{verdict="warn"} '
             'or perfgate_run_verdict{verdict="fail"} * 2 '
             'or perfgate_run_verdict{verdict="error"} * 3)')
    verdicts = [{"type": "value", "options": {
        "0": {"index": 0, "text": "pass", "color": "green"},
        "1": {"index": 1, "text": "warn", "color": "yellow"},
        "2": {"index": 2, "text": "fail", "color": "red"},
        "3": {"index": 3, "text": "error", "color": "purple"}}}]
    return dashboard(
        "perfgate-gate-runs", "perfgate Gate Runs",
        "The last run of every targets file as perfgate pushed it: verdicts, checks against "
        "their thresholds, and key metrics from run to run.",
        [[Panel("Last verdict by targets file", [(level, "{{targets}}")], "stat", "none", 12,
                5, mappings=verdicts,
                options={"colorMode": "background", "textMode": "value_and_name"}),
          Panel("Checks by verdict (last runs)", [
              ("sum by (verdict) (perfgate_run_checks)", "{{verdict}}")], "piechart", "none",
                6, 5),
          Panel("Last run ended", [("max by (targets) (perfgate_run_end_timestamp_seconds) "
                                    "* 1000", "{{targets}}")], "stat", "dateTimeFromNow", 6,
                5)],
         [Panel("Checks of the last runs", [
             ("perfgate_check_value", "value"), ("perfgate_check_target", "target"),
             ("perfgate_check_critical", "critical")], "table", width=24, height=9,
                instant=True)],
         [Panel("Failing checks over time", [
             ('perfgate_check_verdict{verdict=~"fail|error"} == 1',
              "{{targets}} {{check}}")], "state-timeline", width=24, height=6)],
         [Panel("Client-side p95 by scenario", [
             ('perfgate_http_req_duration_seconds{quantile="0.95"}',
              "{{targets}} {{scenario}}")], unit="s", thresholds=LATENCY),
          Panel("Requests per second by scenario", [
              ("perfgate_http_reqs_per_second", "{{targets}} {{scenario}}")], unit="reqps")],
         [Panel("Failed requests by scenario", [
             ("perfgate_http_req_failed_ratio", "{{targets}} {{scenario}}")],
                unit="percentunit", thresholds=ERRORS),
          Panel("Run duration", [("perfgate_run_duration_seconds", "{{targets}}")],
                unit="s")]],
        [], ["gate"])


BUILDERS = {"api-performance": api_performance, "database": database, "cache": cache,
            "system": system, "user-experience": user_experience, "gate-runs": gate_runs}


def render(board: dict[str, Any]) -> str:
    """The JSON text of one dashboard, as checked in."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    for name, build in BUILDERS.items():
        (FOLDER / f"{name}.json").write_text(render(build()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
