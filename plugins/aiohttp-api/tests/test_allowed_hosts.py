"""Load goes only where it may: a name that looks loopback must reach a loopback address."""

from __future__ import annotations

import asyncio
import socket

import pytest

from perfgate import ConfigError
from perfgate.testing import Listener, outside_address
from perfgate_aiohttp_api.client import Traffic, connect
from perfgate_aiohttp_api.plan import Plan, PlanInput


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``api.localhost`` resolves to the addresses in the returned list, one per look-up,
    then to this machine's outside address (a resolver that does not keep .localhost
    local, or DNS rebinding)."""
    outside = outside_address()
    real = socket.getaddrinfo
    answers: list[str] = []

    def resolve(host, *args, **kwargs):
        if host == "api.localhost":
            host = answers.pop(0) if answers else outside
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


def scenario(port: int) -> dict:
    return {"executor": "per-vu-iterations", "vus": 1, "iterations": 3,
            "requests": [{"name": "away", "url": f"http://api.localhost:{port}/x"}]}


def test_a_loopback_name_that_resolves_elsewhere_is_refused_before_the_load(
        drive, rebinding) -> None:
    outside = outside_address()
    with Listener(outside) as listener, pytest.raises(
            ConfigError, match=f"refusing to talk to 'api.localhost': it resolved to {outside}"):
        drive(scenario(listener.port))
    assert listener.connections == 0


def test_the_address_a_connection_reached_is_checked() -> None:
    # What the engine asks of every new connection, on real connections: to loopback, and
    # to this machine's outside address under a name that looks loopback.
    plan = Plan.build(PlanInput(scenario={"driver": "http", **scenario(1)},
                                scenario_name="load", base_url=None, time_scale=1.0,
                                allow_hosts=()))

    async def reached(host: str) -> str | None:
        with Listener(host) as listener:
            conn = await connect(asyncio.get_running_loop(), Traffic(), listener.host,
                                 listener.port, None, 5.0)
            assert not isinstance(conn, str)
            address = conn.peer_address()
            conn.close()
        return address

    assert plan.reached_allowed("api.localhost", asyncio.run(reached("127.0.0.1")))
    outside = asyncio.run(reached(outside_address()))
    assert outside == outside_address()
    assert not plan.reached_allowed("api.localhost", outside)
