"""How k6's metric names, kinds, units and tags become perfgate's.

k6 names its built-in metrics with underscores (``http_req_duration``); perfgate writes the
same names with a dot after the protocol (``http.req_duration``), so one targets file works
with the ``http`` driver and with k6. Custom metrics keep the name the script gave them.
"""

from __future__ import annotations

from perfgate import Kind

#: k6 built-ins whose perfgate name differs from k6's.
RENAMED: dict[str, str] = {
    name: name.replace("_", ".", 1)
    for name in (
        "http_reqs", "http_req_duration", "http_req_blocked", "http_req_connecting",
        "http_req_tls_handshaking", "http_req_sending", "http_req_waiting",
        "http_req_receiving", "http_req_failed",
        "ws_connecting", "ws_session_duration", "ws_sessions", "ws_ping", "ws_msgs_sent",
        "ws_msgs_received",
        "grpc_req_duration", "grpc_streams", "grpc_streams_msgs_sent",
        "grpc_streams_msgs_received",
        "browser_data_received", "browser_data_sent", "browser_http_req_duration",
        "browser_http_req_failed", "browser_web_vital_cls", "browser_web_vital_fcp",
        "browser_web_vital_fid", "browser_web_vital_inp", "browser_web_vital_lcp",
        "browser_web_vital_ttfb",
    )
}
_BACK = {dotted: name for name, dotted in RENAMED.items()}

#: k6's metric types to perfgate kinds.
KINDS: dict[str, Kind] = {
    "trend": Kind.TREND, "rate": Kind.RATE, "counter": Kind.COUNTER, "gauge": Kind.GAUGE,
}

#: k6 system tags left out of perfgate's series: they repeat other tags (``url`` is the
#: default ``name``, ``expected_response`` is ``http.req_failed``) or multiply the series.
DROPPED_TAGS: tuple[str, ...] = (
    "url", "proto", "subproto", "tls_version", "expected_response", "ip", "ocsp_status",
    "error", "vu", "iter",
)


#: k6's ``error_code`` ranges and single codes as the ``http`` driver's error kinds (k6's
#: lib/netext/httpext/error_codes.go): the ``error`` tag of a failed request, so a report says
#: why requests failed in the same words whichever driver sent them.
_ERROR_CODES: dict[int, str] = {
    1050: "timeout", 1211: "timeout", 1212: "connect_refused", 1201: "reset", 1220: "reset",
    1110: "not_allowed", 1111: "not_allowed", 1020: "protocol",
}
_ERROR_RANGES: tuple[tuple[int, int, str], ...] = (
    (1100, 1199, "dns"), (1200, 1299, "connect"), (1300, 1399, "tls"),
    (1400, 1499, "http_4xx"), (1500, 1599, "http_5xx"), (1600, 1699, "protocol"),
)


def error_kind(error_code: str) -> str | None:
    """The error kind of a k6 ``error_code`` (``1212`` → ``connect_refused``), or None for
    codes that say nothing more than "failed" (``1000``) and for unknown ones."""
    try:
        code = int(error_code)
    except ValueError:
        return None
    if code in _ERROR_CODES:
        return _ERROR_CODES[code]
    return next((kind for low, high, kind in _ERROR_RANGES if low <= code <= high), None)


def perfgate_name(k6_name: str) -> str:
    """``http_req_duration`` → ``http.req_duration``; custom metrics are unchanged."""
    return RENAMED.get(k6_name, k6_name)


def k6_name(name: str) -> str:
    """The reverse of :func:`perfgate_name`."""
    return _BACK.get(name, name)


def unit_of(kind: Kind, contains: str) -> str:
    """A metric's perfgate unit from k6's value type (``time``, ``data`` or ``default``)."""
    if kind is Kind.RATE:
        return "ratio"
    if contains == "time":
        return "ms"
    if contains == "data":
        return "B"
    return ""


def convert_tags(tags: dict[str, str], scenario: str, dropped: frozenset[str]) -> dict[str, str]:
    """k6 sample tags to perfgate tags.

    ``scenario`` becomes the perfgate scenario's name; k6's own scenario name moves to
    ``k6_scenario`` (and is left out when it is k6's ``default``). Empty values (the root
    ``group``) and ``dropped`` tags are left out. A failed request's ``error_code`` also
    gives its ``error`` tag, the error kind (:func:`error_kind`), unless k6's own ``error``
    message is kept.
    """
    out = {"scenario": scenario}
    for key, value in tags.items():
        if not value or key in dropped:
            continue
        if key == "scenario":
            if value != "default":
                out["k6_scenario"] = value
            continue
        out[key] = value
    code = out.get("error_code")
    if code and "error" not in out:
        kind = error_kind(code)
        if kind is not None:
            out["error"] = kind
    return out


def convert_selector(selector: str, scenario: str) -> str:
    """A k6 threshold's metric in perfgate's words, in the perfgate scenario.

    ``http_req_duration{name:health}`` → ``http.req_duration{name:health,scenario:load}``.
    """
    name = perfgate_name(selector.partition("{")[0].strip())
    tags = convert_tags(k6_tags(selector), scenario, frozenset())
    inner = ",".join(f"{k}:{v}" for k, v in sorted(tags.items()))
    return f"{name}{{{inner}}}"


def k6_tags(selector: str) -> dict[str, str]:
    """The tag filter of a k6 selector: ``m{a:b,c:d}`` → ``{"a": "b", "c": "d"}``."""
    _, brace, rest = selector.partition("{")
    if not brace:
        return {}
    out = {}
    for part in rest.rstrip("}").split(","):
        key, _, value = part.partition(":")
        if key.strip():
            out[key.strip()] = value.strip()
    return out
