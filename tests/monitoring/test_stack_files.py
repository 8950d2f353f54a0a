"""The monitoring stack's files fit together and have the structure their programs require.

Grafana, Loki, Promtail and Jaeger do not run here, so their files are checked structurally:
Grafana's dashboard and provisioning models, every address one part uses for another being the
address the stack gives it, every file the compose stack mounts existing, and every file of
``monitoring/`` being mounted by the stack.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
STACK_FILE = ROOT / "compose" / "performance-monitoring-stack.yml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
PANEL_TYPES = {"timeseries", "stat", "gauge", "table", "piechart", "state-timeline",
               "bargauge", "barchart", "text", "logs", "heatmap"}
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range", "__all"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return load(STACK_FILE)


def flag(service: dict[str, Any], name: str) -> str:
    """The value of ``--name=value`` (or ``-name=value``) in a service's command."""
    for arg in service["command"]:
        key, _, value = arg.lstrip("-").partition("=")
        if key == name:
            return value
    raise AssertionError(f"no {name} in {service['command']}")


def port(address: str) -> int:
    return int(urlsplit(address if "//" in address else f"//{address}").port or 0)


def listen_ports(stack: dict[str, Any]) -> dict[str, int]:
    """Where each part of the stack listens, from its own file or command line."""
    services = stack["services"]
    loki = load(MONITORING / "loki" / "loki.yml")
    jaeger = load(MONITORING / "jaeger" / "jaeger.yml")
    return {
        "prometheus": port(flag(services["prometheus"], "web.listen-address")),
        "alertmanager": port(flag(services["alertmanager"], "web.listen-address")),
        "pushgateway": port(flag(services["pushgateway"], "web.listen-address")),
        "node-exporter": port(flag(services["node-exporter"], "web.listen-address")),
        "grafana": int(services["grafana"]["environment"]["GF_SERVER_HTTP_PORT"]),
        "loki": loki["server"]["http_listen_port"],
        "jaeger-ui": port(jaeger["extensions"]["jaeger_query"]["http"]["endpoint"]),
        "otlp-http": port(jaeger["receivers"]["otlp"]["protocols"]["http"]["endpoint"]),
        "otlp-grpc": port(jaeger["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]),
    }


# --- compose ---------------------------------------------------------------------------------

def test_every_part_of_the_stack_is_there_on_the_hosts_network(stack):
    assert set(stack["services"]) == {"prometheus", "alertmanager", "pushgateway",
                                      "node-exporter", "grafana", "loki", "promtail", "jaeger"}
    for name, service in stack["services"].items():
        assert service["network_mode"] == "host", name
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", service["image"]), \
            f"{name}: pin a version, not {service['image']}"


def test_the_ports_are_the_ones_the_plan_and_the_docs_name(stack):
    assert listen_ports(stack) == {
        "prometheus": 9090, "alertmanager": 9093, "pushgateway": 9091, "node-exporter": 9100,
        "grafana": 3001, "loki": 3100, "jaeger-ui": 16686, "otlp-http": 4318, "otlp-grpc": 4317}


def test_every_mounted_file_exists_and_every_config_is_mounted(stack):
    mounted = set()
    for name, service in stack["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (STACK_FILE.parent / source).resolve()
                assert path.exists() or path == ROOT / "reports", f"{name}: {source}"
                mounted.add(path)
    configs = {p for p in MONITORING.rglob("*") if p.is_file()
               and p.suffix in {".yml", ".yaml", ".json"} and "tests" not in p.parts}
    unmounted = {c for c in configs if not any(c == m or m in c.parents for m in mounted)}
    assert not unmounted, sorted(str(p.relative_to(ROOT)) for p in unmounted)


# --- Prometheus -------------------------------------------------------------------------------

def test_prometheus_scrapes_the_demo_the_pushgateway_and_the_node_exporter(stack):
    config = load(MONITORING / "prometheus" / "prometheus.yml")
    ports = listen_ports(stack)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {name: [t for sc in job["static_configs"] for t in sc["targets"]]
               for name, job in jobs.items()}
    assert targets == {"demo-app": ["127.0.0.1:8000"],
                       "pushgateway": [f"127.0.0.1:{ports['pushgateway']}"],
                       "node": [f"127.0.0.1:{ports['node-exporter']}"],
                       "prometheus": [f"127.0.0.1:{ports['prometheus']}"]}
    assert jobs["pushgateway"]["honor_labels"] is True
    assert all("honor_labels" not in job for name, job in jobs.items() if name != "pushgateway")
    [manager] = config["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == [f"127.0.0.1:{ports['alertmanager']}"]


# --- Grafana provisioning ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def datasources() -> dict[str, dict[str, Any]]:
    provisioning = load(MONITORING / "grafana/provisioning/datasources/datasources.yml")
    assert provisioning["apiVersion"] == 1
    sources = provisioning["datasources"]
    assert len({s["uid"] for s in sources}) == len({s["name"] for s in sources}) == len(sources)
    assert [s["uid"] for s in sources if s.get("isDefault")] == ["prometheus"]
    return {s["uid"]: s for s in sources}


def test_the_datasources_point_at_the_stack(datasources, stack):
    ports = listen_ports(stack)
    expected = {"prometheus": ("prometheus", ports["prometheus"]),
                "loki": ("loki", ports["loki"]), "jaeger": ("jaeger", ports["jaeger-ui"]),
                "alertmanager": ("alertmanager", ports["alertmanager"])}
    assert {uid: (s["type"], port(s["url"])) for uid, s in datasources.items()} == expected
    for source in datasources.values():
        assert source["access"] == "proxy"
        assert urlsplit(source["url"]).hostname == "127.0.0.1"
    prometheus = datasources["prometheus"]["jsonData"]
    assert prometheus["timeInterval"] == load(
        MONITORING / "prometheus/prometheus.yml")["global"]["scrape_interval"]


def test_links_between_datasources_name_existing_ones(datasources):
    links = [d["datasourceUid"] for d in
             datasources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]]
    links += [d["datasourceUid"] for d in datasources["loki"]["jsonData"]["derivedFields"]]
    links.append(datasources["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"])
    assert links and set(links) <= set(datasources)


def test_the_trace_id_pattern_matches_the_demo_access_log(datasources):
    from demo_app.server import ACCESS_LOG_FORMAT
    line = ACCESS_LOG_FORMAT.replace("%{traceparent}i",
                                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    [field] = datasources["loki"]["jsonData"]["derivedFields"]
    assert re.search(field["matcherRegex"], line).group(1) == "0af7651916cd43dd8448eb211c80319c"
    promtail = load(MONITORING / "promtail/promtail.yml")
    [regex] = [s["regex"]["expression"] for s in promtail["scrape_configs"][0]["pipeline_stages"]
               if "regex" in s]
    assert re.search(regex, line).group("trace_id") == "0af7651916cd43dd8448eb211c80319c"


def test_the_dashboard_provider_reads_the_mounted_dashboards(stack):
    [provider] = load(MONITORING / "grafana/provisioning/dashboards/dashboards.yml")["providers"]
    assert provider["type"] == "file"
    mounts = dict(v.split(":")[:2] for v in stack["services"]["grafana"]["volumes"])
    assert mounts["../monitoring/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../monitoring/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = stack["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (MONITORING / "grafana/dashboards" / Path(home).name).exists()
    assert Path(home).parent == Path(provider["options"]["path"])


# --- Grafana dashboards -----------------------------------------------------------------------

def test_the_dashboards_are_what_the_build_script_writes():
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", MONITORING / "grafana" / "build_dashboards.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build  # dataclasses look their module up there
    try:
        spec.loader.exec_module(build)
    finally:
        del sys.modules[spec.name]
    assert {f"{name}.json" for name in build.BUILDERS} == {p.name for p in DASHBOARDS}
    for name, builder in build.BUILDERS.items():
        assert (MONITORING / "grafana/dashboards" / f"{name}.json").read_text() == \
            build.render(builder()), f"run monitoring/grafana/build_dashboards.py ({name})"


def test_there_is_a_dashboard_for_each_of_the_plans_views_and_for_gate_runs():
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert titles == {"API Performance Overview", "Database Performance",
                      "Cache Hit Rates and Performance", "System Resource Utilisation",
                      "User Experience", "perfgate Gate Runs"}


def overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_a_dashboard_has_the_structure_grafana_requires(path, datasources):
    board = json.loads(path.read_text())
    assert isinstance(board["uid"], str) and 0 < len(board["uid"]) <= 40
    assert re.fullmatch(r"[\w-]+", board["uid"])
    assert isinstance(board["title"], str) and board["title"]
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert {"from", "to"} <= board["time"].keys()
    assert isinstance(board["templating"]["list"], list)
    assert isinstance(board["annotations"]["list"], list)
    variables = {v["name"] for v in board["templating"]["list"]}
    for variable in board["templating"]["list"]:
        assert variable["type"] == "query"
        assert variable["datasource"]["uid"] in datasources
    panels = board["panels"]
    assert panels
    assert len({p["id"] for p in panels}) == len(panels)
    for i, panel in enumerate(panels):
        where = f"{path.name}: panel {panel['id']} {panel['title']!r}"
        assert isinstance(panel["id"], int), where
        assert panel["type"] in PANEL_TYPES, where
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy"), where
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0, where
        assert grid["x"] + grid["w"] <= 24, where
        assert not any(overlap(grid, other["gridPos"]) for other in panels[:i]), where
        source = datasources[panel["datasource"]["uid"]]
        assert panel["datasource"]["type"] == source["type"], where
        assert panel["targets"], where
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), where
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], where
            assert target["expr"].strip(), where
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= variables | GRAFANA_VARIABLES, f"{where}: ${used - variables}"
        assert {"defaults", "overrides"} <= panel["fieldConfig"].keys(), where


# --- Loki, Promtail, Jaeger -------------------------------------------------------------------

def test_loki_is_a_single_process_with_a_current_schema(stack):
    loki = load(MONITORING / "loki" / "loki.yml")
    assert loki["auth_enabled"] is False
    assert loki["common"]["replication_factor"] == 1
    assert loki["common"]["ring"]["kvstore"]["store"] == "inmemory"
    [schema] = loki["schema_config"]["configs"]
    assert (schema["store"], schema["schema"], schema["object_store"]) == \
        ("tsdb", "v13", "filesystem")
    assert schema["index"]["period"] == "24h"  # tsdb needs a 24h index period
    mounts = dict(v.split(":")[:2] for v in stack["services"]["loki"]["volumes"])
    assert "/loki" in mounts.values()  # the path_prefix is a volume, kept across restarts
    assert loki["common"]["path_prefix"] == "/loki"
    assert port(loki["ruler"]["alertmanager_url"]) == listen_ports(stack)["alertmanager"]


def test_promtail_ships_the_reports_folder_to_loki(stack):
    promtail = load(MONITORING / "promtail" / "promtail.yml")
    [client] = promtail["clients"]
    assert port(client["url"]) == listen_ports(stack)["loki"]
    assert urlsplit(client["url"]).path == "/loki/api/v1/push"
    mounts = dict(v.split(":")[:2] for v in stack["services"]["promtail"]["volumes"])
    [job] = promtail["scrape_configs"]
    [static] = job["static_configs"]
    assert static["labels"]["__path__"].startswith(mounts["../reports"] + "/")


def test_jaegers_pipeline_uses_only_defined_components_and_defines_only_used_ones():
    jaeger = load(MONITORING / "jaeger" / "jaeger.yml")
    service = jaeger["service"]
    assert set(service["extensions"]) == set(jaeger["extensions"])
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline in service["pipelines"].values():
        for kind in used:
            used[kind] |= set(pipeline.get(kind, []))
    for kind, names in used.items():
        assert names == set(jaeger[kind]), kind
    backends = set(jaeger["extensions"]["jaeger_storage"]["backends"])
    assert jaeger["extensions"]["jaeger_query"]["storage"]["traces"] in backends
    assert jaeger["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backends
    assert list(service["pipelines"]) == ["traces"]


def test_the_demo_exports_spans_where_jaeger_listens(stack):
    readme = (ROOT / "examples/demo_app/README.md").read_text()
    endpoint = re.search(r"OTEL_EXPORTER_OTLP_ENDPOINT=(http://[\d.:]+)", readme).group(1)
    assert port(endpoint) == listen_ports(stack)["otlp-http"]
