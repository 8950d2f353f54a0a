"""The scenario's options: k6's command line, time scale, names, safety, config errors."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from perfgate import ConfigError, Kind
from perfgate.testing import run_context, run_targets
from perfgate_k6_driver import K6Driver, K6Scenario
from perfgate_k6_driver.binary import find_k6
from perfgate_k6_driver.names import convert_selector, convert_tags, perfgate_name
from perfgate_k6_driver.safety import LOOPBACK, blocked_ranges
from perfgate_k6_driver.script import declared_metrics


def driver_for(tmp_path: Path, time_scale: float = 1.0, allow_hosts=(), **options):
    context = run_context(services={"api": "http://127.0.0.1:8000"},
                          allow_hosts=tuple(allow_hosts), targets_path=tmp_path / "targets.yml",
                          output_dir=tmp_path, time_scale=time_scale)
    cfg = K6Scenario.model_validate({"driver": "k6", "service": "api", "script": "t.js",
                                     **options})
    return K6Driver(cfg, context, "load"), cfg


def argv_of(tmp_path: Path, **kwargs) -> list[str]:
    driver, cfg = driver_for(tmp_path, **kwargs)
    return driver._argv(find_k6(), cfg, tmp_path / "t.js", tmp_path / "o.json",
                        tmp_path / "s.json")


def test_time_scale_shortens_duration_and_stages(tmp_path):
    argv = argv_of(tmp_path, time_scale=0.05, vus=10, duration="10m")
    assert argv[argv.index("--duration") + 1] == "30000ms"
    assert argv[argv.index("--vus") + 1] == "10"
    argv = argv_of(tmp_path, time_scale=0.1, stages=[{"duration": "1m", "target": 50},
                                                    {"duration": "30s", "target": 0}])
    stages = [argv[i + 1] for i, a in enumerate(argv) if a == "--stage"]
    assert stages == ["6000ms:50", "3000ms:0"]
    assert "--duration" not in argv


def test_command_line_reads_k6_output_and_keeps_user_args_last(tmp_path):
    argv = argv_of(tmp_path, iterations=5, tags={"team": "payments"},
                   k6_args=["--http-debug"])
    assert argv[1] == "run" and argv[-1].endswith("t.js") and argv[-2] == "--http-debug"
    assert f"json={tmp_path / 'o.json'}" in argv and "--no-usage-report" in argv
    assert argv[argv.index("--tag") + 1] == "team=payments"
    assert argv[argv.index("--address") + 1] == "127.0.0.1:0"  # never k6's fixed port 6565


def test_environment_has_base_url_and_scenario_env_wins(tmp_path):
    driver, cfg = driver_for(tmp_path, time_scale=0.5, env={"K6_SCENARIO": "smoke", "N": 3})
    env = driver._environment(cfg)
    assert env["BASE_URL"] == "http://127.0.0.1:8000"
    assert env["K6_SCENARIO"] == "smoke" and env["N"] == "3"
    assert env["PERFGATE_TIME_SCALE"] == "0.5" and env["PERFGATE_SCENARIO"] == "load"
    driver, cfg = driver_for(tmp_path, env={"BASE_URL": "http://prod.example.com"})
    with pytest.raises(ConfigError, match=r"refusing to send load to 'prod\.example\.com'"):
        driver._environment(cfg)


def test_only_loopback_and_allowed_hosts_are_reachable():
    blocked = [ipaddress.ip_network(n) for n in blocked_ranges(
        [*LOOPBACK, ipaddress.ip_network("10.1.2.3/32")])]

    def reachable(address: str) -> bool:
        return not any(ipaddress.ip_address(address) in net for net in blocked)

    assert reachable("127.0.0.1") and reachable("127.9.9.9") and reachable("::1")
    assert reachable("10.1.2.3")
    for address in ("10.1.2.4", "8.8.8.8", "192.168.1.1", "::2", "2001:db8::1", "0.0.0.0"):
        assert not reachable(address), address


def test_names_follow_the_http_driver():
    assert perfgate_name("http_req_duration") == "http.req_duration"
    assert perfgate_name("http_reqs") == "http.reqs"
    assert perfgate_name("iterations") == "iterations"
    assert perfgate_name("http_custom_thing") == "http_custom_thing"  # a custom metric
    assert convert_tags({"scenario": "default", "url": "http://x/1", "name": "x",
                         "group": "", "status": "200"}, "load", frozenset({"url"})) == {
        "scenario": "load", "name": "x", "status": "200"}
    assert convert_tags({"scenario": "browse"}, "load", frozenset()) == {
        "scenario": "load", "k6_scenario": "browse"}
    assert convert_selector("http_req_duration{name:health}", "load") == \
        "http.req_duration{name:health,scenario:load}"


def test_custom_metrics_are_read_from_the_script_and_its_modules(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "metrics.js").write_text(
        "import { Counter } from 'k6/metrics';\n"
        "export const made = new Counter(\"orders_made\");\n")
    script = tmp_path / "main.js"
    script.write_text("import { Trend, Rate, Gauge } from 'k6/metrics';\n"
                      "import { made } from './lib/metrics.js';\n"
                      "const a = new Trend('checkout_time', true);\n"
                      "const b = new Trend('basket_size');\n"
                      "const c = new Rate('payment_ok');\nconst d = new Gauge(`queue`);\n")
    found = {m.name: (m.kind, m.unit) for m in declared_metrics(script)}
    assert found == {"checkout_time": (Kind.TREND, "ms"), "basket_size": (Kind.TREND, ""),
                     "payment_ok": (Kind.RATE, "ratio"), "queue": (Kind.GAUGE, ""),
                     "orders_made": (Kind.COUNTER, "")}


def test_targets_file_errors_name_the_key(tmp_path):
    script = tmp_path / "t.js"
    script.write_text("import { Trend } from 'k6/metrics';\n"
                      "const t = new Trend('checkout_time', true);\n"
                      "export default function () {}\n")
    base = {"version": 1, "services": {"api": {"url": "http://127.0.0.1:8000"}}}
    cases = [
        ({"script": str(script), "stages": [{"duration": "1s", "target": 1}],
          "duration": "5s"}, "use either stages or duration"),
        ({"script": str(script), "k6_args": ["--summary-export", "x.json"]},
         "k6_args cannot contain --summary-export"),
        ({"script": str(script), "vus": "many"}, "vus"),
        ({"script": str(script), "think": 1}, "think"),
    ]
    for options, expected in cases:
        doc = {**base, "scenarios": {"load": {"driver": "k6", "service": "api", **options}}}
        with pytest.raises(ConfigError, match=expected) as info:
            run_targets(doc, output_dir=tmp_path)
        assert "targets.yml:" in str(info.value) and "scenarios.load" in str(info.value)
    # A target on a custom metric the script does not declare: a typo caught before running.
    doc = {**base, "scenarios": {"load": {"driver": "k6", "service": "api",
                                          "script": str(script)}},
           "targets": {"t": {"metric": "checkout_tme", "target": "p(95) < 1s"}}}
    with pytest.raises(ConfigError, match="did you mean 'checkout_time'"):
        run_targets(doc, output_dir=tmp_path)
    # The same with the script relative to the targets file's folder (not the current one):
    # the loader hands the folder to the scenario model.
    assert not (Path.cwd() / "t.js").exists()
    doc["scenarios"]["load"]["script"] = "t.js"
    with pytest.raises(ConfigError, match="did you mean 'checkout_time'"):
        run_targets(doc, output_dir=tmp_path)


def test_blocked_hosts_fail_inside_k6(run_k6, script):
    path = script("""
        import http from 'k6/http';
        export default function () {
          http.get(`${__ENV.BASE_URL}/health`, { tags: { name: 'ours' } });
          http.get('http://10.255.255.1:9/', { tags: { name: 'elsewhere' }, timeout: '2s' });
        }
    """)
    outcome = run_k6({"script": str(path), "iterations": 3})
    from perfgate import MetricSet

    metrics = MetricSet.from_list(outcome.result.metrics)
    assert metrics.combined("http.req_failed", {"name": "ours"}).aggregate("passes") == 0
    blocked = metrics.combined("http.req_failed", {"name": "elsewhere", "error_code": "1110"})
    assert blocked is not None and blocked.aggregate("passes") == 3


def test_check_rejects_a_script_that_is_not_there(tmp_path, capsys):
    from perfgate.cli import main

    targets = tmp_path / "targets.yml"
    targets.write_text("version: 1\n"
                       "services: {api: {url: 'http://127.0.0.1:8000'}}\n"
                       "scenarios:\n"
                       "  load:\n"
                       "    driver: k6\n"
                       "    service: api\n"
                       "    script: scripts/missing.js\n"
                       "    iterations: 1\n")
    assert main(["check", str(targets)]) == 2
    err = capsys.readouterr().err
    assert f"targets.yml:7:13: scenarios.load.script: k6 script " \
           f"{tmp_path / 'scripts' / 'missing.js'} does not exist" in err
    # the same script once written (relative to the targets file, not the current folder)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "missing.js").write_text("export default function () {}\n")
    assert main(["check", str(targets)]) == 0
    assert "OK" in capsys.readouterr().out
    # a folder is not a script
    (tmp_path / "scripts" / "dir.js").mkdir()
    targets.write_text(targets.read_text().replace("missing.js", "dir.js"))
    assert main(["check", str(targets)]) == 2
    assert "scenarios.load.script: k6 script" in capsys.readouterr().err


def test_failed_requests_say_why_in_the_http_drivers_words(run_k6, script):
    """A real k6 run: a refused connection, a 404 and a 503 are told apart by reason, as the
    ``http`` driver tells them (k6's ``error_code`` read as the error kind)."""
    import socket

    from perfgate import MetricSet, request_failures

    with socket.socket() as closed:  # a port nothing listens on: bound, never listening
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        path = script(f"""
            import http from 'k6/http';
            export default function () {{
              http.get(`${{__ENV.BASE_URL}}/status/404`, {{ tags: {{ name: 'missing' }} }});
              http.get(`${{__ENV.BASE_URL}}/status/503`, {{ tags: {{ name: 'down' }} }});
              http.get('http://127.0.0.1:{port}/', {{ tags: {{ name: 'refused' }} }});
            }}
        """)
        outcome = run_k6({"script": str(path), "iterations": 4})
    failures = {(f.endpoint, f.reason): f.count
                for f in request_failures(MetricSet.from_list(outcome.result.metrics))}
    assert failures == {("GET missing", "404"): 4, ("GET down", "503"): 4,
                        ("GET refused", "connect_refused"): 4}
