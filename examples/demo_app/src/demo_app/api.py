"""The JSON API under ``/api``: records, sign-in, and the slow and flaky endpoints."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from demo_app.faults import parse_delay_ms, parse_percent
from demo_app.records import parse_record
from demo_app.state import dumps, error, json_body, json_response, state

routes = web.RouteTableDef()

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the request body is not valid JSON") from None


# --- records --------------------------------------------------------------------------------

@routes.get("/api/records")
async def list_records(request: web.Request) -> web.Response:
    """One page of records: ``?limit=`` (1..100, default 20) and ``?offset=`` (default 0)."""
    try:
        limit = _query_int(request, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        offset = _query_int(request, "offset", 0, 0, 2**62)
    except ValueError as exc:
        return error(400, str(exc))
    s = state(request)
    key = (limit, offset)
    body = s.page_cache.get(key)
    if body is not None:
        return json_body(body, headers={"X-Cache": "HIT"})
    total = s.store.count()
    following = offset + limit
    body = dumps({
        "items": s.store.page(limit, offset),
        "total": total,
        "limit": limit,
        "offset": offset,
        "next": f"/api/records?limit={limit}&offset={following}" if following < total else None,
    })
    s.page_cache.put(key, body)
    return json_body(body, headers={"X-Cache": "MISS"})


@routes.get(r"/api/records/{id:\d+}")
async def get_record(request: web.Request) -> web.Response:
    """One record by id."""
    s = state(request)
    record_id = int(request.match_info["id"])
    body = s.record_cache.get(record_id)
    if body is not None:
        return json_body(body, headers={"X-Cache": "HIT"})
    record = s.store.get(record_id)
    if record is None:
        return error(404, f"no record {record_id}")
    body = dumps(record)
    s.record_cache.put(record_id, body)
    return json_body(body, headers={"X-Cache": "MISS"})


@routes.post("/api/records")
async def create_record(request: web.Request) -> web.Response:
    """Create a record from ``{"name": str, "value": number}``."""
    try:
        name, value = parse_record(await _json(request))
    except ValueError as exc:
        return error(400, str(exc))
    s = state(request)
    record = s.store.create(name, value)
    s.records_changed()
    return json_response(record, 201, headers={"Location": f"/api/records/{record['id']}"})


@routes.put(r"/api/records/{id:\d+}")
async def update_record(request: web.Request) -> web.Response:
    """Replace a record's name and value."""
    record_id = int(request.match_info["id"])
    try:
        name, value = parse_record(await _json(request))
    except ValueError as exc:
        return error(400, str(exc))
    s = state(request)
    record = s.store.update(record_id, name, value)
    if record is None:
        return error(404, f"no record {record_id}")
    s.records_changed(record_id)
    return json_response(record)


@routes.delete(r"/api/records/{id:\d+}")
async def delete_record(request: web.Request) -> web.Response:
    """Delete a record."""
    record_id = int(request.match_info["id"])
    s = state(request)
    if not s.store.delete(record_id):
        return error(404, f"no record {record_id}")
    s.records_changed(record_id)
    return web.Response(status=204)


# --- sign-in --------------------------------------------------------------------------------

@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    """``{"username", "password"}`` to a bearer token for ``/api/me``."""
    try:
        body = await _json(request)
    except ValueError as exc:
        return error(400, str(exc))
    username = body.get("username") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(username, str) or not username or not isinstance(password, str):
        return error(400, "expected a JSON object with 'username' and 'password'")
    token = state(request).tokens.login(username, password)
    if token is None:
        return error(401, "wrong user name or password")
    return json_response({"token": token, "token_type": "Bearer", "user": username})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    """Who the bearer token in ``Authorization`` belongs to."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = state(request).tokens.user(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error(401, "a valid bearer token is required",
                     headers={"WWW-Authenticate": "Bearer"})
    return json_response({"user": user})


# --- known misbehaviour ---------------------------------------------------------------------

@routes.get("/api/slow")
async def slow(request: web.Request) -> web.Response:
    """Answer after ``?ms=`` milliseconds (default 100)."""
    try:
        ms = parse_delay_ms(request.query.get("ms"))
    except ValueError as exc:
        return error(400, str(exc))
    await asyncio.sleep(ms / 1000)
    return json_response({"slept_ms": ms})


@routes.get("/api/flaky")
async def flaky(request: web.Request) -> web.Response:
    """Fail exactly ``?fail=`` percent of calls (default 10), spread evenly.

    Failures answer ``?status=`` (default 500). Each percentage counts its own calls, so of
    the first N calls with ``fail=P`` exactly ``floor(N * P / 100)`` fail.
    """
    try:
        share = parse_percent(request.query.get("fail"))
        status = _query_int(request, "status", 500, 400, 599)
    except ValueError as exc:
        return error(400, str(exc))
    s = state(request)
    if s.failures.next_fails(share):
        return error(status, "injected failure")
    return json_response({"ok": True})
