"""The scenario's options: checked before anything runs, with messages that say what to do."""

from __future__ import annotations

import pytest

from perfgate import ConfigError
from perfgate.testing import run_targets
from perfgate_locust import LocustScenario


def scenario(**keys):
    return LocustScenario.model_validate({"driver": "locust", "url": "http://127.0.0.1:1",
                                          "duration": "10s", **keys})


@pytest.mark.parametrize(("keys", "message"), [
    ({}, "at least one entry under requests: or flows:"),
    ({"locustfile": "a.py", "requests": [{"path": "/"}]}, "either a locustfile or requests"),
    ({"requests": [{"path": "/"}], "workers": 0}, "Locust needs at least one worker"),
    ({"requests": [{"path": "/"}], "locust_args": ["--run-time=5s"]},
     "locust_args cannot contain --run-time"),
    ({"requests": [{"path": "/"}], "executor": "ramping-vus"}, "ramping-vus needs stages"),
    ({"requests": [{"path": "/"}], "executor": "ramping-arrival-rate"}, "ramping-vus"),
    ({"requests": [{"path": "/"}], "url": "ftp://x"}, "expected an http:// or https:// URL"),
    ({"requests": [{"path": "/me", "headers": {"A": "${token}"}}]}, "no earlier step"),
])
def test_bad_options_are_refused(keys, message):
    with pytest.raises(ValueError, match=message):
        scenario(**keys)


def test_vus_and_constant_vus_are_accepted_as_the_http_driver_writes_them():
    s = scenario(executor="constant-vus", vus=30, workers=2, expect_workers=3,
                 requests=[{"path": "/"}])
    assert (s.users, s.total_workers) == (30, 5)


def test_a_missing_locustfile_and_a_host_not_allowed_are_file_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    import perfgate_locust

    doc = {"version": 1, "scenarios": {"load": {"driver": "locust", "locustfile": "nope.py",
                                                "url": "http://127.0.0.1:1",
                                                "duration": "1s"}}}
    with pytest.raises(ConfigError, match=r"locustfile .*nope.py does not exist"):
        run_targets(doc, output_dir=tmp_path, plugins=[perfgate_locust])
    doc["scenarios"]["load"] = {"driver": "locust", "url": "http://203.0.113.7",
                                "duration": "1s", "requests": [{"path": "/"}]}
    with pytest.raises(ConfigError, match=r"refusing to send load to http://203\.0\.113\.7"):
        run_targets(doc, output_dir=tmp_path, plugins=[perfgate_locust])
