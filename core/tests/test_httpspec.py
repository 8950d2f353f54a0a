"""perfgate's own HTTP load description (``requests:``, ``flows:``), JSON paths and templates."""

from __future__ import annotations

import pytest

from perfgate import (
    FlowSpec,
    RequestSpec,
    check_requests,
    decode_json,
    json_capture,
    json_lookup,
    parse_json_path,
    render_template,
    render_templates,
)


def test_json_paths_and_templates() -> None:
    assert parse_json_path("$.data.items[0].id") == ["data", "items", 0, "id"]
    assert parse_json_path("data.items.0.id") == ["data", "items", "0", "id"]
    doc = decode_json(b'{"data": {"items": [{"id": 7}]}, "token": "t"}')
    assert json_lookup(doc, ["data", "items", "0", "id"]) == 7
    assert json_capture(doc, {"id": parse_json_path("data.items.0.id"),
                              "token": parse_json_path("token"),
                              "none": parse_json_path("x")}) == \
        {"id": "7", "token": "t", "none": None}
    assert render_template("/items/${id}?t=${token}", {"id": "7", "token": "t"}) == \
        "/items/7?t=t"
    assert render_templates({"${k}": ["${v}", 1]}, {"k": "a", "v": "b"}) == {"a": ["b", 1]}
    with pytest.raises(KeyError):
        render_template("${nope}", {})
    with pytest.raises(ValueError, match="not a JSON path"):
        parse_json_path("a..[")


def test_a_scenarios_requests_are_checked_together() -> None:
    login = RequestSpec.model_validate({"method": "post", "path": "/login",
                                        "capture": {"token": "token"}})
    me = RequestSpec.model_validate({"path": "/me",
                                     "headers": {"Authorization": "Bearer ${token}"}})
    check_requests([], [FlowSpec(name="sign-in", steps=[login, me])], has_base=True)
    with pytest.raises(ValueError, match=r"uses \$\{token\}, which no earlier step"):
        check_requests([], [FlowSpec(name="sign-in", steps=[me, login])], has_base=True)
    with pytest.raises(ValueError, match="neither service nor url"):
        check_requests([me], [], has_base=False)
    with pytest.raises(ValueError, match="at least one entry"):
        check_requests([], [], has_base=True)
    assert login.method == "POST" and login.label == "POST /login"
