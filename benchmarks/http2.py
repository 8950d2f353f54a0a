"""HTTP/2 throughput of the ``http`` driver beside k6's, in the same run, against one nginx.

    .venv/bin/python benchmarks/http2.py [--duration 10]

nginx (with certificates made for the run: a CA and a server certificate) serves HTTP/2 over
TLS on a free loopback port, pinned to the last core; each client runs pinned to core 0
(``benchmarks/http_driver.py``'s helpers). Closed model, 100 VUs, ``GET /`` (``ok``):

1. k6 (``http.get``; k6 negotiates h2 by ALPN; each VU has its own connection);
2. perfgate with ``http_version: auto``: the VUs share connections, 100 streams each;
3. perfgate with ``http2_max_streams: 1``: one connection per VU, as k6 has them;
4. for reference, perfgate over HTTP/1.1 (``http_version: "1.1"``) on the same TLS port.

nginx's access log is the ground truth: every run's requests are counted by
``$server_protocol`` there, so a run that fell back to HTTP/1.1 would show. Results go to
stdout and to ``benchmarks/results/http2.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from http_driver import RESULTS, cores, nginx_binary, pinned, run_k6, run_ours

from perfgate_aiohttp_api.nginx_truth import Nginx, nginx

VUS = 100
K6_H2 = """
import http from 'k6/http';
export const options = {{ insecureSkipTLSVerify: true, discardResponseBodies: true,
  scenarios: {{ s: {{ executor: 'constant-vus', vus: {vus}, duration: '{duration}s' }} }} }};
export default function () {{ http.get('{url}'); }}
"""


def logged(server: Nginx) -> dict[str, int]:
    """Requests nginx served over TLS since the last mark, by protocol."""
    counts: dict[str, int] = {}
    for line in server.requests("h2tls"):
        counts[line.protocol] = counts.get(line.protocol, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    args, _ = parser.parse_known_args()  # ./dev bench passes http_driver.py's options too
    d = args.duration
    nginx_binary()  # installs nginx-light when missing
    available = cores()
    client_core = available[0] if len(available) > 1 else None
    server_core = available[-1] if len(available) > 1 else None
    results: dict[str, object] = {
        "duration_s": d, "vus": VUS, "cores": len(available), "client_core": client_core,
        "server_core": server_core, "load_average": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="perfgate-h2-") as tmp, \
            nginx(Path(tmp), pinned(server_core, [])) as server:
        url = server.url("h2tls")
        print(f"nginx at {url} (HTTP/2 over TLS, core {server_core}); clients on core "
              f"{client_core}; {d:g}s per run; load average {os.getloadavg()[0]:.2f}",
              flush=True)
        server.mark()
        k6 = run_k6(K6_H2.format(vus=VUS, duration=d, url=url), client_core)
        k6["nginx"] = logged(server)
        print(f"k6                      {k6['rps']:>8.0f} req/s  p50 {k6['p50_ms']:.2f} ms  "
              f"p99 {k6['p99_ms']:.2f} ms  nginx saw {k6['nginx']}", flush=True)
        runs = {"perfgate_shared": {"http_version": "auto"},
                "perfgate_per_vu": {"http_version": "auto", "http2_max_streams": 1},
                "perfgate_http1": {"http_version": "1.1"}}
        for name, extra in runs.items():
            server.mark()
            ours = run_ours(url.rstrip("/"), {
                "executor": "constant-vus", "vus": VUS, "duration": f"{d}s",
                "requests": [{"path": "/"}], "insecure_skip_tls_verify": True, **extra},
                client_core)
            ours["nginx"] = logged(server)
            ours["ratio_to_k6"] = ours["rps"] / k6["rps"]
            results[name] = ours
            print(f"{name:<23} {ours['rps']:>8.0f} req/s  p50 {ours['p50_ms']:.2f} ms  "
                  f"p99 {ours['p99_ms']:.2f} ms  {ours['ratio_to_k6']:.2f}x k6  "
                  f"nginx saw {ours['nginx']}", flush=True)
        results["k6"] = k6
    results["load_average_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http2.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
