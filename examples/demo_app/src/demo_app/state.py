"""What the running service holds: the database, the caches and tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from demo_app.auth import TokenStore
from demo_app.cache import TTLCache
from demo_app.faults import FailureSchedule
from demo_app.records import RecordStore


@dataclass
class DemoState:
    """Everything a handler needs, stored on the application under :data:`STATE`."""

    store: RecordStore
    #: One record's JSON by id.
    record_cache: TTLCache
    #: One page of the record list by ``(limit, offset)``.
    page_cache: TTLCache
    tokens: TokenStore = field(default_factory=TokenStore)
    failures: FailureSchedule = field(default_factory=FailureSchedule)
    started: float = field(default_factory=time.monotonic)

    def records_changed(self, record_id: int | None = None) -> None:
        """Drop cached reads a write made stale."""
        if record_id is not None:
            self.record_cache.discard(record_id)
        self.page_cache.clear()


STATE = web.AppKey("demo_state", DemoState)


def state(request: web.Request) -> DemoState:
    """The service state of the application serving ``request``."""
    return request.app[STATE]


def dumps(data: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(data, separators=(",", ":")).encode()


def json_body(body: bytes, status: int = 200, headers: dict[str, str] | None = None,
              ) -> web.Response:
    """A response with an already encoded JSON body."""
    return web.Response(body=body, status=status, headers=headers,
                        content_type="application/json")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None,
                  ) -> web.Response:
    """A JSON response."""
    return json_body(dumps(data), status, headers)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error response ``{"error": message}``."""
    return json_response({"error": message}, status, headers)
