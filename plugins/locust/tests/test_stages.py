"""``executor: ramping-vus`` with ``stages:``, as the http driver writes it, run by Locust:
the agent sets the users every second, the server sees the ramp, the run lasts the stages."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import perfgate_locust
from perfgate import ConfigError

DELAY_MS = 100  # each user sends about 10 requests a second


def agent_function(name: str) -> Callable[..., int]:
    """A function of the agent, without importing it (that would import Locust, which
    monkey-patches this process with gevent)."""
    source = (Path(perfgate_locust.__file__).with_name("agent.py")).read_text()
    [node] = [n for n in ast.parse(source).body
              if isinstance(n, ast.FunctionDef) and n.name == name]
    namespace: dict[str, object] = {}
    exec(compile(ast.Module([node], []), "agent.py", "exec"), namespace)
    return namespace[name]  # type: ignore[return-value]


def test_users_follow_the_stages_linearly_and_hold_the_last_target():
    users_at = agent_function("users_at")
    stages = [[3.0, 6], [2.0, 6], [1.0, 0]]
    assert [users_at(t, 0, stages) for t in (0, 1.5, 3, 4.9, 5.5, 6, 60)] == [0, 3, 6, 6, 3, 0, 0]
    assert users_at(0, 2, [[0.0, 5], [2.0, 1]]) == 5  # a stage of 0 s jumps to its target


def test_a_ramp_runs_on_locust(run_locust, server):
    outcome = run_locust(
        {"executor": "ramping-vus", "start_vus": 0, "workers": 1,
         "stages": [{"duration": "3s", "target": 6}, {"duration": "2s", "target": 6}],
         "requests": [{"name": "d", "path": f"/delay/{DELAY_MS}"}]},
        targets={"lat": {"metric": "http.req_duration", "target": "p(95) < 10s"}})
    result = outcome.result
    # (a busy machine may fail the driver-health check: exit 1; never a broken run)
    assert result.errors == [] and outcome.exit_code in (0, 1), result.errors
    verdicts = {c.name: c.verdict.value for c in result.checks}
    assert verdicts["lat"] == verdicts["load.locust-workers"] == "pass", result.checks
    [scenario] = result.scenarios
    started = result.details["load"]["locust"]
    assert started["run_time"] == 5  # the stages' sum
    metrics = result.metric_set()
    vus = metrics.combined("vus")
    assert vus.aggregate("max") == 6
    # The load ran the stages' 5 s, from Locust's start of the test to its graceful stop.
    requests = metrics.combined("http.reqs")
    start, end = requests.start, requests.end
    assert 5 <= end - start < 5 + 2, (start, end)
    assert scenario["finished"] - scenario["started"] >= 5
    # The users the master counted each second followed the ramp (0, 2, 4, 6, 6), give or
    # take the second the workers take to spawn them.
    users_at = agent_function("users_at")
    stages = [[3.0, 6], [2.0, 6]]
    rows = next(m for m in result.metrics if m["name"] == "vus")["series"]
    assert len(rows) >= 4
    for second, _count, _sum, low, high, _last in rows:
        assert users_at(second - start - 2, 0, stages) <= low, (second - start, rows)
        assert high <= users_at(second + 1 - start + 1, 0, stages), (second - start, rows)
    # The server saw it: fewer requests in the ramp's first 1.5 s than in the last 1.5 s at
    # full strength, whatever the machine's speed (with 3 and 6 users at the most and least).
    arrivals = server.arrivals(f"/delay/{DELAY_MS}")
    early = sum(1 for t in arrivals if t < start + 1.5)
    late = sum(1 for t in arrivals if start + 3.5 <= t < start + 5.0)
    assert late >= 2 * early and late > 0, (early, late)
    assert requests.aggregate("count") == len(arrivals)


@pytest.mark.parametrize(("keys", "message"), [
    ({"executor": "ramping-vus", "duration": "5s"}, "executor ramping-vus needs stages"),
    ({"stages": [{"duration": "1s", "target": 2}], "users": 3},
     "users: not with stages"),
    ({"stages": [{"duration": "0s", "target": 2}]}, "the stages must last longer than zero"),
    ({"start_vus": 2, "duration": "5s"}, "start_vus is for executor ramping-vus"),
    ({"users": 2}, "duration is required"),
])
def test_ramp_options_are_checked(run_locust, keys, message):
    with pytest.raises(ConfigError) as error:
        run_locust({"workers": 1, "requests": [{"path": "/delay/1"}], **keys})
    assert message in str(error.value)
