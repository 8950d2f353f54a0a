"""perfgate-k6-driver: run k6 scripts with the real k6 and judge their results in perfgate.

Registers the ``k6`` load driver (:class:`~perfgate_k6_driver.driver.K6Driver`) and the ``k6``
validator that reports the script's own thresholds as checks; the driver brings the
validator along, so every run with a k6 scenario has it.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_k6_driver.config import K6Scenario
from perfgate_k6_driver.driver import K6Driver, K6RunError
from perfgate_k6_driver.validator import K6Validator

__all__ = ["K6Driver", "K6RunError", "K6Scenario", "K6Validator"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``k6`` driver and the ``k6`` validator."""
    register(K6Driver)
    register(K6Validator)
