"""perfgate-html: the ``html`` reporter.

Add it to a targets file::

    reporters:
      html: {path: report.html}

or render an earlier result document: ``perfgate report result.json --html report.html``.
The report is one file that fetches nothing when opened: the verdict, the checks, charts
over time per scenario with their thresholds, resources, databases and caches, pages and
a latency percentile curve per endpoint (charts drawn by the vendored uPlot).
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_html.render import render
from perfgate_html.reporter import HtmlConfig, HtmlReporter

__all__ = ["HtmlConfig", "HtmlReporter", "render"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``html`` reporter."""
    register(HtmlReporter)
