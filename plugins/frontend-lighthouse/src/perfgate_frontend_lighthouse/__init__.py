"""perfgate-frontend-lighthouse: page speed measured by the real Lighthouse in headless Chromium.

The ``frontend-lighthouse`` collector measures pages before, during or after the load. The
engine under it (``engine``, ``runner``, ``browser``, ``lhr``, ``aggregate``, ``tools``)
needs nothing of perfgate. See the README for the options, the metrics and what each means.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_frontend_lighthouse.collector import FrontendLighthouse
from perfgate_frontend_lighthouse.config import LighthouseConfig

__all__ = ["FrontendLighthouse", "LighthouseConfig", "perfgate_register_components"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``frontend-lighthouse`` collector."""
    register(FrontendLighthouse)
