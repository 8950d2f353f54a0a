"""perfgate-locust: run Locust (master and workers, local or remote) and judge it in perfgate.

Registers the ``locust`` load driver (:class:`~perfgate_locust.driver.LocustDriver`) and the
``locust`` validator (worker loss, exceptions in tasks); the driver brings the validator
along. Locust runs as a separate program; this package never imports it.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_locust.config import LocustScenario
from perfgate_locust.driver import LocustDriver, LocustRunError
from perfgate_locust.validator import LocustValidator

__all__ = ["LocustDriver", "LocustRunError", "LocustScenario", "LocustValidator"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``locust`` driver and the ``locust`` validator."""
    register(LocustDriver)
    register(LocustValidator)
