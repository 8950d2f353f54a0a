"""The ``redis`` collector's options in the targets file."""

from __future__ import annotations

from pydantic import Field, SecretStr

from perfgate import SamplingConfig


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
