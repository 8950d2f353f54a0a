"""Templated requests split once into fixed bytes and holes render the same bytes as the
whole request rendered the slow way, value by value."""

from __future__ import annotations

import re
from typing import Any

import pytest

from perfgate import RequestSpec
from perfgate_aiohttp_api.plan import Prepared

BASE = "http://127.0.0.1:8080"
VALUES = {"token": 'a"b\\c\u00e9', "id": "42", "vu": "3", "iteration": "0",
          "users.name": "ann \u2603"}


def both(spec: dict[str, Any], values: dict[str, str]) -> tuple[bytes, bytes]:
    """The request's bytes from its template, and rendered whole (the slow way)."""
    req = Prepared(RequestSpec.model_validate(spec), BASE)
    assert req.template is not None, "this request should have been split"
    origin, fast = req.render(values)
    req.template = None
    slow_origin, slow = req.render(values)
    assert origin == slow_origin == ("http", "127.0.0.1", 8080)
    return fast, slow


@pytest.mark.parametrize("spec", [
    {"path": "/items/${id}"},
    {"path": "/items/${id}/x${id}y", "query": {"a": "1"}},
    {"path": "/me", "headers": {"Authorization": "Bearer ${id}", "X-Vu": "${vu}"}},
    {"method": "POST", "path": "/items", "json": {"name": "pen-${token}", "n": [1, "${id}"],
                                                 "nested": {"who": "${users.name}"}}},
    {"method": "POST", "path": "/items", "json": {"name": "${id}"},
     "headers": {"content-type": "application/vnd+json"}},
    {"method": "PUT", "path": "/t/${id}", "body": "name=${users.name}&id=${id}"},
    {"method": "POST", "path": "/p", "body": "fixed", "headers": {"X": "${id}"}},
    {"method": "POST", "path": "/p", "headers": {"X": "${id}"}},
    {"method": "DELETE", "url": BASE + "/items/${id}", "headers": {"User-Agent": "${vu}"}},
])
def test_split_templates_render_the_same_bytes(spec: dict[str, Any]) -> None:
    fast, slow = both(spec, VALUES)
    assert fast == slow


def test_values_new_at_each_use_are_new_each_time() -> None:
    req = Prepared(RequestSpec.model_validate(
        {"path": "/r/${uuid}", "headers": {"X-N": "${random_int:5:7}"}}), BASE)
    seen = set()
    for _ in range(20):
        _, data = req.render({})
        head = data.decode()
        m = re.match(r"GET /r/([0-9a-f-]{36}) HTTP/1\.1\r\n", head)
        assert m is not None, head
        seen.add(m.group(1))
        assert int(re.search(r"X-N: (\d+)\r\n", head).group(1)) in (5, 6, 7)  # type: ignore[union-attr]
    assert len(seen) == 20


def test_missing_and_unwritable_values_fail_as_before() -> None:
    req = Prepared(RequestSpec.model_validate(
        {"path": "/me", "headers": {"Authorization": "Bearer ${token}"}}), BASE)
    with pytest.raises(KeyError):
        req.render({})
    with pytest.raises(ValueError):  # a header value beyond Latin-1
        req.render({"token": "\u2603"})


def test_templates_in_header_names_and_json_keys_are_rendered_whole() -> None:
    for spec in ({"path": "/", "headers": {"X-${id}": "1"}},
                 {"method": "POST", "path": "/", "json": {"${id}": 1}}):
        req = Prepared(RequestSpec.model_validate(spec), BASE)
        assert req.template is None
        assert b"42" in req.render(VALUES)[1]


def test_a_scenario_accept_encoding_is_in_the_split_template_too() -> None:
    from perfgate_aiohttp_api.plan import Defaults

    req = Prepared(RequestSpec.model_validate({"path": "/items/${id}"}), BASE,
                   Defaults(accept_encoding="gzip, br"))
    assert req.template is not None
    fast = req.render(VALUES)[1]
    req.template = None
    assert fast == req.render(VALUES)[1] and b"\r\nAccept-Encoding: gzip, br\r\n" in fast


def test_form_multipart_and_auth_bodies_are_rendered_whole() -> None:
    for spec in ({"method": "POST", "path": "/f", "form": {"who": "${id}"}},
                 {"path": "/me/${id}", "auth": {"bearer": {"token": "${token}"}}}):
        req = Prepared(RequestSpec.model_validate(spec), BASE)
        assert req.template is None
        assert b"42" in req.render(VALUES)[1]
