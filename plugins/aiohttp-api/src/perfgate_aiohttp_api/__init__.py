"""perfgate-aiohttp-api: the ``http`` load driver.

k6's executors (closed and open model), presets, checks and flows, on a lean HTTP/1.1 client
(uvloop + httptools) that outruns k6 several times per core, with worker processes whose
HDR histograms merge exactly. ``perfgate_aiohttp_api.groundtruth`` is a server with known
behaviour for testing load drivers.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_aiohttp_api.driver import HttpDriver
from perfgate_aiohttp_api.scenario import HttpScenario

__all__ = ["HttpDriver", "HttpScenario"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``http`` load driver."""
    register(HttpDriver)
