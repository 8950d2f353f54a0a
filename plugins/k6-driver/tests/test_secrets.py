"""A secret the script encodes (encodeURIComponent) never reaches a report either."""

from __future__ import annotations

import json
import urllib.parse

from perfgate.testing import free_port, run_targets

TOKEN = "k6/tok+Zq81=never&shown"
SCRIPT = """
import http from 'k6/http';
export const options = { vus: 1, iterations: 3 };
export default function () {
  const t = encodeURIComponent(__ENV.TOKEN);
  http.get(`${__ENV.BASE_URL}/health?token=${t}`);               // named by its URL
  http.get(`http://127.0.0.1:${__ENV.CLOSED}/x?token=${t}`);     // a warning quoting it
}
"""


def test_an_encoded_secret_is_masked_in_tags_and_warnings(tmp_path, script, server) -> None:
    doc = {
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {"s": {"driver": "k6", "service": "gt", "script": str(script(SCRIPT)),
                            "env": {"TOKEN": "${secret:TOKEN}", "CLOSED": free_port()}}},
        "reporters": {"json": {"path": "result.json"}, "markdown": {"path": "report.md"}},
    }
    outcome = run_targets(doc, output_dir=tmp_path, environ={"TOKEN": TOKEN})
    encoded = urllib.parse.quote(TOKEN, safe="")
    result = (tmp_path / "result.json").read_text()
    warnings = json.loads(result)["details"]["s"]["k6"]["warnings"]
    assert any("Request Failed" in w and "token=***" in w for w in warnings), warnings
    names = {m["tags"].get("name") for m in outcome.result.metrics if "name" in m["tags"]}
    assert any(name and "token=***" in name for name in names), names
    for text in (result, (tmp_path / "report.md").read_text()):
        assert TOKEN not in text and encoded not in text
