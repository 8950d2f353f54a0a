"""The request keys added for the http driver: generated locustfiles send ``form`` and
``cookies``, and refuse the others when the file is checked, saying which and where."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from perfgate.testing import run_targets
from perfgate_locust.config import LocustScenario

REPO = Path(__file__).resolve().parents[3]
SERVER = REPO / "examples" / "login-cookie" / "server.py"


@pytest.fixture(scope="module")
def site() -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location("login_cookie_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.Server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("request_keys", "says"), [
    ({"method": "POST", "multipart": {"a": "b"}}, "does not support multipart"),
    ({"auth": {"bearer": {"token": "t"}}}, "does not support auth"),
    ({"timeout": "1s", "max_redirects": 0}, "does not support max_redirects, timeout"),
    ({"capture": {"t": "header:X-Token"}}, "captures JSON paths only, not 'header:X-Token'"),
])
def test_keys_locust_cannot_do_are_refused(request_keys: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        LocustScenario.model_validate({
            "driver": "locust", "url": "http://127.0.0.1:1", "users": 1, "duration": "1s",
            "flows": [{"name": "f", "steps": [{"name": "x", "path": "/", **request_keys}]}]})


def test_form_and_cookies_are_sent(site: Any, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    import perfgate_locust

    site.counts.reset()
    url = f"http://127.0.0.1:{site.server_address[1]}"
    outcome = run_targets({
        "version": 1, "services": {"site": {"url": url}},
        "scenarios": {"load": {"driver": "locust", "service": "site", "users": 2,
                               "duration": "2s", "flows": [{"name": "f", "steps": [
                                   {"name": "login", "method": "POST", "path": "/upload",
                                    "form": {"user": "ann", "n": 2},
                                    "checks": {"json": {"fields.user": "ann"}}},
                                   {"name": "prefs", "path": "/cookies",
                                    "cookies": {"theme": "dark"},
                                    "checks": {"json": {"cookies.theme": "dark"}}}]}]}},
    }, output_dir=tmp_path, plugins=[perfgate_locust])
    counts = site.counts.snapshot()
    assert outcome.result.errors == [], outcome.result.errors
    checks = outcome.result.metric_set().combined("checks")
    # a user stopped in the middle of a request at the end fails its check: two users
    assert checks is not None and checks.aggregate("count") > 10
    assert checks.aggregate("fails") <= 2
    assert counts["fields"]["user=ann"] == counts["hits"]["/upload"] > 0
    assert counts["cookies"]["theme=dark"] == counts["hits"]["/cookies"] > 0
