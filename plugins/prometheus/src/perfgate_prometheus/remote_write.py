"""The ``remote-write`` reporter: the same metrics as the Pushgateway's, written straight into
a Prometheus (or anything that takes remote write: Mimir, Thanos, VictoriaMetrics).

::

    reporters:
      remote-write:
        # a Prometheus started with --web.enable-remote-write-receiver
        url: http://127.0.0.1:9090/api/v1/write

Every sample is stamped with the run's end and labelled ``job``, ``targets`` and ``grouping``,
as the Pushgateway's group would label it; unlike the Pushgateway, every run stays in the
time series, not only the last. The body is a remote-write 1.0 ``WriteRequest`` (protobuf,
snappy block format).
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterable

import httpx

from perfgate import Reporter, ResultDocument, RunError
from perfgate_prometheus.export import ExportConfig, run_labels
from perfgate_prometheus.exposition import Family, gate_families

Series = tuple[list[tuple[str, str]], float]


class RemoteWriteConfig(ExportConfig):
    """Options of the ``remote-write`` reporter (``url``: the receiver, as
    ``http://127.0.0.1:9090/api/v1/write``)."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (a string or an embedded message)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_write_request(series: Iterable[Series], timestamp_ms: int) -> bytes:
    """A ``prometheus.WriteRequest`` with one sample per series, labels sorted by name."""
    out = bytearray()
    for labels, value in series:
        body = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                        for k, v in sorted(labels))
        sample = b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(timestamp_ms)
        out += _field(1, body + _field(2, sample))
    return bytes(out)


def snappy_block(data: bytes) -> bytes:
    """``data`` in the snappy block format, as literals only: valid snappy, uncompressed."""
    out = bytearray(_varint(len(data)))
    for start in range(0, len(data), 65536):
        chunk = data[start:start + 65536]
        size = len(chunk) - 1
        if size < 60:
            out.append(size << 2)
        elif size < 256:
            out += bytes([60 << 2, size])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", size)
        out += chunk
    return bytes(out)


def family_series(families: Iterable[Family], labels: dict[str, str]) -> list[Series]:
    """Every sample of ``families`` as a series with ``labels`` added; NaN left out."""
    series = []
    for family in families:
        for suffix, own, value in family.samples:
            if math.isnan(value):
                continue
            series.append(([("__name__", family.name + suffix), *labels.items(),
                            *own.items()], value))
    return series


class RemoteWriteReporter(Reporter[RemoteWriteConfig]):
    """Writes the run into Prometheus over remote write; a failed write is a reporter error."""

    name = "remote-write"
    summary = "writes verdicts, checks and key metrics into Prometheus over remote write"

    def report(self, result: ResultDocument) -> None:
        config = self.config
        labels = run_labels(config, result)
        series = family_series(gate_families(result, config.metrics), labels)
        ended = result.run.get("finished")
        stamp = int((ended if isinstance(ended, int | float) else time.time()) * 1000)
        body = snappy_block(encode_write_request(series, stamp))
        headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        try:
            with httpx.Client(timeout=config.timeout, follow_redirects=False,
                              trust_env=False) as client:
                response = client.post(config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RunError(f"cannot write to {config.url}: "
                           f"{type(exc).__name__}: {exc}") from None
        if response.status_code // 100 != 2:
            raise RunError(f"{config.url} refused the write: HTTP {response.status_code} "
                           f"{response.text.strip()[:300]}")
