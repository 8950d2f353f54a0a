"""perfgate-markdown: the ``markdown`` reporter.

Add it to a targets file::

    reporters:
      markdown: {path: report.md}

With ``--baseline FILE`` (or the ``baseline`` option) the report compares every check and
request table with that earlier result document. In GitHub Actions the report is appended
to the job summary too.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_markdown.render import render
from perfgate_markdown.reporter import MarkdownConfig, MarkdownReporter

__all__ = ["MarkdownConfig", "MarkdownReporter", "render"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(MarkdownReporter)
