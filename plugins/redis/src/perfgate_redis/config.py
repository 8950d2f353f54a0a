"""The ``redis`` collector's options in the targets file."""

from __future__ import annotations

import redis.connection
from pydantic import Field, SecretStr, field_validator

from perfgate import SamplingConfig, userinfo_problem

#: Said instead of the URL parser's own message, which may quote part of the password.
INVALID_URL = ("not a valid Redis URL; expected redis://[[user]:password@]host[:port][/db], "
               "rediss://... or unix:///path/to/socket")


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a Redis URL perfgate can use, never quoting it; None if it is."""
    problem = userinfo_problem(url)
    if problem is not None:
        return problem
    try:
        redis.connection.parse_url(url)
    except Exception:  # ValueError, and whatever a malformed URL makes the parser raise
        return INVALID_URL
    return None


class RedisConfig(SamplingConfig):
    """Options of the ``redis`` collector::

        collectors:
          redis:
            url: ${env:PERFGATE_REDIS_URL}   # redis://:password@127.0.0.1:6379/0
            interval: 1s

    ``interval`` (1s) and ``timeout`` (5s) come from :class:`perfgate.SamplingConfig`.
    """

    #: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` or ``unix://``. Secret.
    url: SecretStr
    #: Timed ``PING`` probes per sample (``redis.probe_duration``); 0 turns probing off.
    probes: int = Field(default=5, ge=0, le=1000)
    #: Per-command latency from ``INFO commandstats`` (``redis.command_duration{command:...}``).
    commandstats: bool = True
    #: Propose the built-in checks (hit rate, memory).
    builtin_targets: bool = True

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        problem = url_problem(value.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return value
