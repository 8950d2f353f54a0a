"""perfgate-junit: the ``junit`` reporter.

Add it to a targets file and point CI's test report step at the file::

    reporters:
      junit: {path: junit.xml, group_by: scenario}

Each check is a test case (``classname`` is the check's group, ``name`` the check's name);
the file validates against the JUnit schema of Jenkins' xunit plugin.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_junit.build import build, render
from perfgate_junit.reporter import JUnitConfig, JUnitReporter

__all__ = ["JUnitConfig", "JUnitReporter", "build", "render"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(JUnitReporter)
