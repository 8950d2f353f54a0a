"""The driver inside a whole perfgate run, and its self-check."""

from __future__ import annotations

import io

from perfgate import MetricSet
from perfgate.progress import Progress
from perfgate_aiohttp_api import HttpDriver, HttpScenario
from perfgate_aiohttp_api.recorder import CPU_SATURATED, Recorder
from perfgate_aiohttp_api.scenario import PRESETS


def test_issue_2_scenario_in_a_perfgate_run(server, tmp_path) -> None:
    from perfgate.testing import run_targets

    outcome = run_targets(f"""
        version: 1
        services:
          api: {{url: "{server.url}", health: /health}}
        scenarios:
          load:
            driver: http
            service: api
            executor: constant-vus
            vus: 100
            duration: 30s
            requests:
              - {{name: health, path: /health}}
              - {{name: records, path: /delay/1, weight: 3}}
        targets:
          latency: {{metric: "http.req_duration{{scenario:load}}", target: "p(95) < 2s",
                     critical: "p(95) < 5s"}}
          errors: {{metric: http.req_failed, target: "rate < 1%", critical: "rate < 5%"}}
          throughput: {{metric: http.reqs, target: "rate > 50"}}
        reporters: {{json: {{path: result.json}}}}
    """, output_dir=tmp_path, time_scale=0.05)
    result = outcome.result
    by_name = {c.name: c for c in result.checks}
    assert by_name["latency"].verdict.value == "pass", by_name["latency"]
    assert by_name["errors"].verdict.value == "pass"
    assert by_name["throughput"].verdict.value == "pass"
    health = [c for c in result.checks if c.metric.startswith("perfgate.driver.behind")]
    assert len(health) == 1 and health[0].scenario == "load"
    assert outcome.exit_code in (0, 1)  # the driver's own check may warn on a busy machine
    assert (tmp_path / "result.json").exists()
    counted = server.counters()["paths"]
    assert counted["/delay/1"] > 2 * counted["/health"]  # weight 3 against 1


def test_zero_drops_and_zero_internal_errors_pass_count_targets(server, tmp_path) -> None:
    from perfgate.testing import run_targets

    outcome = run_targets(f"""
        version: 1
        scenarios:
          open:
            driver: http
            url: "{server.url}"
            executor: constant-arrival-rate
            rate: 50
            duration: 1s
            pre_allocated_vus: 5
            max_vus: 50
            requests: [{{path: /health}}]
        targets:
          no_drops: {{metric: dropped_iterations, target: "count == 0"}}
          no_bugs: {{metric: perfgate.driver.internal_errors, target: "count == 0"}}
          all_started: {{metric: iterations, target: "count == 50"}}
    """, output_dir=tmp_path)
    by_name = {c.name: c for c in outcome.result.checks}
    for name in ("no_drops", "no_bugs", "all_started"):
        assert by_name[name].verdict.value == "pass", by_name[name]
        assert by_name[name].measured is not None
    assert by_name["no_drops"].measured == 0
    assert server.counters()["paths"]["/health"] >= 50


def test_health_tick_marks_saturation_and_lag() -> None:
    rec = Recorder("s")
    assert rec.health(1.0, CPU_SATURATED + 1, 0.0, (1, 1)) is True
    assert rec.health(1.1, 10.0, 50.0, (1, 1)) is True
    assert rec.health(1.2, 10.0, 0.5, (1, 1)) is False
    assert rec.metrics.combined("perfgate.driver.behind_schedule").aggregate("rate") == 2 / 3


def test_a_saturated_driver_leaves_a_note(make_context) -> None:
    cfg = HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                       "executor": "constant-vus", "duration": "1s",
                                       "requests": [{"path": "/"}]})
    ctx = make_context()
    driver = HttpDriver(cfg, ctx, "busy")
    metrics = MetricSet()
    rec = Recorder("busy")
    for i in range(10):
        rec.health(float(i), 100.0, 30.0, (1, 1))
    metrics.merge(rec.metrics)
    driver._review(metrics, 1, False)
    assert any("saturated or behind schedule in 100%" in note for note in ctx.notes())
    assert driver.details()["driver"]["behind_schedule"] == 1.0


def test_progress_is_updated(drive, make_context, server) -> None:
    ctx = make_context({"gt": server.url})
    ctx.progress = Progress(stream=io.StringIO(), enabled=False)
    ctx.progress.start_scenario("load")
    drive({"executor": "per-vu-iterations", "vus": 2, "iterations": 10,
           "requests": [{"path": "/health"}]}, context=ctx)
    line = ctx.progress.line()
    assert "20 reqs" in line and "errors 0" in line


def test_smoke_preset_runs_with_a_time_scale(drive, value) -> None:
    assert PRESETS["smoke"]["duration"] == 60.0
    metrics, _ = drive({"preset": "smoke", "requests": [{"path": "/health"}]},
                       time_scale=0.02)
    assert value(metrics, "vus", "max") == 1
    window = metrics.combined("http.reqs")
    assert 1.0 <= window.duration < 2.0


def test_an_internal_error_never_kills_a_vu(drive, value, monkeypatch) -> None:
    from perfgate_aiohttp_api import checks

    calls = {"n": 0}
    real = checks.CompiledChecks.count

    def flaky(self, *args):  # the first evaluation raises, like a bug would
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real(self, *args)

    monkeypatch.setattr(checks.CompiledChecks, "count", flaky)
    metrics, driver = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 5,
                             "requests": [{"path": "/health", "checks": {"status": 200}}]})
    assert value(metrics, "iterations", "count") == 4
    assert value(metrics, "perfgate.driver.internal_errors", "count") == 1
    assert driver.errors == ["1 iterations failed inside the driver: RuntimeError: boom"]
