"""The ``pushgateway`` reporter: each run's verdicts, checks and key metrics, pushed.

::

    reporters:
      pushgateway:
        url: http://127.0.0.1:9091
        grouping: {branch: "${env:CI_BRANCH}"}

The run is pushed to the group ``job=<job>, targets=<targets file>`` plus ``grouping``,
replacing that group's last push (``PUT``), so the Pushgateway holds the last run of each
targets file; Prometheus scrapes it with ``honor_labels: true``. What is pushed is listed in
:mod:`perfgate_prometheus.exposition`.
"""

from __future__ import annotations

import httpx

from perfgate import Reporter, ResultDocument, RunError
from perfgate_prometheus.export import ExportConfig, run_labels
from perfgate_prometheus.exposition import gate_families, grouping_path, render


class PushgatewayConfig(ExportConfig):
    """Options of the ``pushgateway`` reporter (``url``: ``http://127.0.0.1:9091``)."""

    #: ``true``: replace the group's last push (PUT); ``false``: add to it (POST).
    replace: bool = True


class PushgatewayReporter(Reporter[PushgatewayConfig]):
    """Pushes the run to a Pushgateway; a push that fails is a reporter error (exit 3)."""

    name = "pushgateway"
    summary = "pushes verdicts, checks and key metrics to a Prometheus Pushgateway"

    def report(self, result: ResultDocument) -> None:
        body = render(gate_families(result, self.config.metrics))
        labels = run_labels(self.config, result)
        url = self.config.url + grouping_path(labels.pop("job"), labels)
        try:
            with httpx.Client(timeout=self.config.timeout, follow_redirects=False,
                              trust_env=False) as client:
                response = client.request("PUT" if self.config.replace else "POST", url,
                                          content=body.encode(),
                                          headers={"Content-Type": "text/plain; version=0.0.4"})
        except httpx.HTTPError as exc:
            raise RunError(f"cannot push to {self.config.url}: "
                           f"{type(exc).__name__}: {exc}") from None
        if response.status_code // 100 != 2:
            raise RunError(f"the Pushgateway at {self.config.url} refused the push: HTTP "
                           f"{response.status_code} {response.text.strip()[:300]}")
