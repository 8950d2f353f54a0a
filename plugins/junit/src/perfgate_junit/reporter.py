"""The ``junit`` reporter: JUnit XML that CI servers show as test results."""

from __future__ import annotations

from typing import Literal

from perfgate import ComponentConfig, Reporter, ResultDocument, write_atomic
from perfgate_junit.build import render


class JUnitConfig(ComponentConfig):
    """Options of the ``junit`` reporter."""

    #: Where the XML goes, relative to ``--output``.
    path: str = "junit.xml"
    #: One test suite for the whole run, or one per scenario.
    group_by: Literal["run", "scenario"] = "run"
    #: Report a ``warn`` as a failure (always so when the run had ``--fail-on warn``).
    fail_on_warn: bool = False
    #: The name of the run's test suite.
    suite_name: str = "perfgate"


class JUnitReporter(Reporter[JUnitConfig]):
    """One test case per check: fail is a failure, error an error, skip skipped."""

    name = "junit"
    summary = "JUnit XML (one test case per check) for CI test result views"

    def report(self, result: ResultDocument) -> None:
        text = render(result, group_by=self.config.group_by,
                      fail_on_warn=self.config.fail_on_warn, suite_name=self.config.suite_name)
        write_atomic(self.context.report_path(self.config.path), text)
