"""The ``redis`` collector's options in the targets file."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from perfgate import ComponentConfig, Duration


class RedisConfig(ComponentConfig):
    """Options of the ``redis`` collector::

        collectors:
          redis:
            url: ${env:PERFGATE_REDIS_URL}   # redis://:password@127.0.0.1:6379/0
            interval: 1s
    """

    #: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` or ``unix://``. Secret.
    url: SecretStr
    #: Time between samples.
    interval: Duration = 1.0
    #: Timed ``PING`` probes per sample (``redis.probe_duration``); 0 turns probing off.
    probes: int = Field(default=5, ge=0, le=1000)
    #: How long connecting, or one sample, may take before the server counts as not
    #: answering (a sample still waiting then is aborted and recorded as failed).
    timeout: Duration = 5.0
    #: Per-command latency from ``INFO commandstats`` (``redis.command_duration{command:...}``).
    commandstats: bool = True
    #: Propose the built-in checks (hit rate, memory).
    builtin_targets: bool = True

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("interval must be more than 0s")
        return value
