"""The scenario model, presets, weights and the schedule arithmetic."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from perfgate import ConfigError
from perfgate.errors import ConfigErrors
from perfgate.testing import run_targets
from perfgate_aiohttp_api import HttpDriver, HttpScenario
from perfgate_aiohttp_api.executors import EXECUTORS, ConstantVus, RampingVus
from perfgate_aiohttp_api.plan import Plan, PlanInput, build_request, weighted_order
from perfgate_aiohttp_api.scenario import PRESETS
from perfgate_aiohttp_api.schedule import Ramp, constant_starts, share

ISSUE_2 = {"driver": "http", "service": "api", "executor": "constant-vus", "vus": 100,
           "duration": "30s", "requests": [{"name": "health", "path": "/health"},
                                            {"name": "records", "path": "/api/records",
                                             "weight": 3}]}


def test_issue_2_shape_validates_and_compiles() -> None:
    cfg = HttpScenario.model_validate(ISSUE_2)
    assert cfg.executor == ConstantVus(vus=100, duration=30.0)
    plan = Plan.build(PlanInput(cfg.model_dump(by_alias=True, exclude_unset=True), "load",
                                "http://127.0.0.1:8000", 1.0, ()))
    assert plan.executor == cfg.executor and plan.planned_duration() == 30.0
    pick = plan.picker()
    labels = [pick().label for _ in range(400)]  # type: ignore[union-attr]
    assert labels.count("health") == 100 and labels.count("records") == 300
    assert plan.items[0].data.startswith(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")  # type: ignore[union-attr]


@pytest.mark.parametrize("preset,vus,minutes", [("smoke", 1, 1), ("load", 100, 10),
                                                ("stress", 500, 15), ("spike", 1000, 5),
                                                ("endurance", 200, 60)])
def test_presets_match_the_plan(preset: str, vus: int, minutes: int) -> None:
    cfg = HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                       "preset": preset, "requests": [{"path": "/"}]})
    ex = cfg.executor
    assert ex.planned_duration(1.0) == minutes * 60
    if isinstance(ex, ConstantVus):
        assert ex.vus == vus
    else:
        assert isinstance(ex, RampingVus)
        ramp = ex.ramp(1.0)
        assert max(s.target for s in ex.stages) == vus
        assert ramp.vus(0) == 0 and ex.stages[-1].target == 0  # ramps in and out
    assert set(PRESETS) == {"smoke", "load", "stress", "spike", "endurance"}


@pytest.mark.parametrize("bad,message", [
    ({"executor": "constant-vus", "vus": 2}, "needs duration"),
    ({"executor": "constant-arrival-rate", "duration": "1s"}, "needs rate"),
    ({"executor": "constant-vus", "duration": "1s", "rate": 5}, "does not take rate"),
    ({"preset": "load", "vus": 5}, "remove vus or the preset"),
    ({}, "give an executor"),
    ({"executor": "constant-vus", "duration": "1s", "bogus": 1}, "unknown key 'bogus'"),
    ({"executor": "constant-vus", "duration": "soon"}, "not a duration"),
    ({"executor": "constant-vus", "duration": "1s", "workers": 0}, "workers"),
    ({"executor": "constant-arrival-rate", "rate": 10, "duration": "1s",
      "pre_allocated_vus": 50, "max_vus": 5}, r"pre_allocated_vus \(50\) cannot exceed"),
])
def test_bad_scenarios_say_what_is_wrong(bad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                     "requests": [{"path": "/"}], **bad})


def test_request_needs_path_or_url_and_one_body() -> None:
    with pytest.raises(ValidationError, match="either path"):
        HttpScenario.model_validate({"driver": "http", "executor": "constant-vus",
                                     "duration": "1s", "requests": [{"name": "x"}]})
    with pytest.raises(ValidationError, match="neither service nor url"):
        HttpScenario.model_validate({"driver": "http", "executor": "constant-vus",
                                     "duration": "1s", "requests": [{"path": "/"}]})
    with pytest.raises(ValidationError, match="one body, not json and body"):
        HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                     "executor": "constant-vus", "duration": "1s",
                                     "requests": [{"path": "/", "json": {}, "body": "x"}]})


def test_template_variables_must_be_captured_earlier() -> None:
    base = {"driver": "http", "url": "http://127.0.0.1:1", "executor": "constant-vus",
            "duration": "1s"}
    with pytest.raises(ValidationError, match=r"uses \$\{id\}, which no earlier step"):
        HttpScenario.model_validate({**base, "requests": [{"path": "/items/${id}"}]})
    with pytest.raises(ValidationError, match=r"step 'b' uses \$\{tok\}"):
        HttpScenario.model_validate({**base, "flows": [{"name": "f", "steps": [
            {"name": "a", "path": "/login", "capture": {"token": "token"}},
            {"name": "b", "path": "/me", "headers": {"Authorization": "Bearer ${tok}"}}]}]})
    HttpScenario.model_validate({**base, "flows": [{"name": "f", "steps": [
        {"name": "a", "path": "/login", "capture": {"token": "token"}},
        {"name": "b", "path": "/me", "json": {"t": ["${token}"]}}]}]})


def test_weighted_order_is_exact_and_smooth() -> None:
    order = weighted_order([1, 3])
    assert sorted(order) == [0, 1, 1, 1]
    order = weighted_order([0.5, 0.25, 0.25])
    assert len(order) == 1000 and order.count(0) == 500
    assert weighted_order([2, 2]) == [0, 1, 0, 1]


def test_request_bytes() -> None:
    data = build_request("POST", "h:1", "/x?a=1", {"X-Y": "z"}, b"{}")
    assert data == (b"POST /x?a=1 HTTP/1.1\r\nHost: h:1\r\nUser-Agent: perfgate-http/0.1\r\n"
                    b"Accept: */*\r\nX-Y: z\r\nContent-Length: 2\r\n\r\n{}")


def test_schedule_shares_add_up() -> None:
    assert [share(10, i, 3) for i in range(3)] == [4, 3, 3]
    whole = list(constant_starts(100, 2.0))
    assert len(whole) == 200 and whole[1] == pytest.approx(0.01)
    parts = sorted(t for i in range(3) for t in constant_starts(100, 2.0, i, 3))
    assert parts == whole
    ramp = Ramp(0.0, ((10.0, 10.0),))  # 0 → 10/s over 10 s: 50 starts
    starts = list(ramp.starts())
    assert len(starts) == 50 and starts == sorted(starts)
    assert sorted(t for i in range(4) for t in ramp.starts(i, 4)) == starts
    assert ramp.vus(5.0) == 5


def test_driver_declares_its_metrics_and_health_check() -> None:
    names = {m.name for m in HttpDriver.produces(None)}
    assert {"http.req_duration", "http.reqs", "http.req_failed", "iterations",
            "dropped_iterations", "vus", "vus_max", "data_received", "data_sent", "checks",
            "perfgate.driver.behind_schedule"} <= names
    check = HttpDriver.builtin_targets(None)["driver-health"]
    assert check.metric == "perfgate.driver.behind_schedule" and check.critical


def test_a_url_load_may_not_go_to_is_refused_when_the_file_is_checked() -> None:
    scenario = {"driver": "http", "executor": "constant-vus", "vus": 1, "duration": "1s",
                "url": "http://127.0.0.1:1",
                "requests": [{"path": "/"}, {"url": "http://203.0.113.9/x"}]}
    with pytest.raises(ValidationError,
                       match=re.escape("refusing to send load to http://203.0.113.9/x")):
        HttpScenario.model_validate(scenario, context={"allow_hosts": []})
    allowed = HttpScenario.model_validate(scenario, context={"allow_hosts": ["203.0.113.9"]})
    assert allowed.requests[1].url == "http://203.0.113.9/x"
    # Outside a targets file there is nothing to check against: the driver checks at run time.
    assert HttpScenario.model_validate(scenario).url == "http://127.0.0.1:1"


def test_vus_and_duration_without_an_executor_mean_constant_vus() -> None:
    """k6's shortcut."""
    cfg = HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                       "requests": [{"path": "/"}], "vus": 7,
                                       "duration": "2s"})
    assert cfg.executor == ConstantVus(vus=7, duration=2.0)


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_every_executor_survives_the_trip_to_a_worker(name: str) -> None:
    keys = {"constant-vus": {"duration": "1s"}, "ramping-vus": {"stages": [
        {"duration": "1s", "target": 2}]}, "constant-arrival-rate": {"rate": 5, "duration":
        "1s"}, "ramping-arrival-rate": {"stages": [{"duration": "1s", "target": 2}]},
        "per-vu-iterations": {"iterations": 3}, "shared-iterations": {"iterations": 3}}
    cfg = HttpScenario.model_validate({"driver": "http", "url": "http://127.0.0.1:1",
                                       "requests": [{"path": "/"}], "executor": name,
                                       **keys[name]})
    assert type(cfg.executor) is EXECUTORS[name]
    again = HttpScenario.model_validate(cfg.model_dump(by_alias=True, exclude_unset=True))
    assert again.executor == cfg.executor


BAD_EXECUTORS = """\
version: 1
scenarios:
  steady:
    driver: http
    url: http://127.0.0.1:1
    executor: constant-arrival-rate
    max_vus: 5
    pre_allocated_vus: 50
    vus: 3
    requests: [{path: /}]
  ramp:
    driver: http
    url: http://127.0.0.1:1
    executor: ramping-vus
    start_vu: 2
    stages: [{duration: 10s, target: 5}]
    requests: [{path: /}]
"""


def test_every_executor_problem_of_a_scenario_is_said_at_its_own_key(perfgate_plugin,
                                                                     tmp_path) -> None:
    import perfgate_aiohttp_api

    perfgate_plugin(perfgate_aiohttp_api)
    with pytest.raises(ConfigError) as caught:
        run_targets(BAD_EXECUTORS, output_dir=tmp_path)
    error = caught.value
    assert isinstance(error, ConfigErrors)
    said = [(p.key, p.location.line if p.location else None, p.message)
            for p in error.problems]
    assert said == [
        ("scenarios.steady.executor", 6, "constant-arrival-rate needs rate (iterations per "
                                         "time_unit, e.g. rate: 200)"),
        ("scenarios.steady.executor", 6, "constant-arrival-rate needs duration (how long "
                                         "iterations start, e.g. duration: 30s)"),
        ("scenarios.steady.max_vus", 7, "pre_allocated_vus (50) cannot exceed max_vus (5)"),
        ("scenarios.steady.vus", 9, "executor constant-arrival-rate does not take vus (it "
                                    "takes time_unit, pre_allocated_vus, max_vus, rate, "
                                    "duration)"),
        ("scenarios.ramp.start_vu", 15, "unknown key 'start_vu'; did you mean 'start_vus'?"),
    ]
