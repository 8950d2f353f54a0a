"""Malformed targets files: each one exits 2 with ``file:line:col: key: message`` and no traceback.

Every case runs through the real command-line entry point, ``perfgate check`` and
``perfgate run``, in this process; a few run as real ``perfgate`` subprocesses too. The
expected stderr is compared whole, so the line, the column, the key and the wording are all
pinned. ``{f}`` in an expected line stands for the path of the file under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfgate.cli import main

pytestmark = pytest.mark.usefixtures("test_plugins")

PERFGATE = Path(sys.executable).parent / "perfgate"
E2E = Path(__file__).resolve().parents[2] / "tests" / "e2e"  # gateplugin.py


@dataclass(frozen=True)
class Case:
    id: str
    yaml: str
    errors: tuple[str, ...]  # the lines of the report, ``{f}`` for the file's path


def case(id: str, yaml: str, *errors: str) -> Case:
    return Case(id, textwrap.dedent(yaml), errors)


def synthetic(yaml: str) -> str:
    """A file with one scenario of the ``synthetic`` driver, then ``yaml``."""
    return "version: 1\nscenarios:\n  load: {driver: synthetic}\n" + textwrap.dedent(yaml)


def http(yaml: str) -> str:
    """A file with one scenario of the ``stub-http`` driver, then ``yaml``."""
    return ("version: 1\nscenarios:\n  load: {driver: stub-http, vus: 10, duration: 30s}\n"
            + textwrap.dedent(yaml))


THRESHOLD = "{f}:%d:%d: %s: bad threshold: %s\n    %s\n    %s^"


def bad_threshold(line: int, col: int, key: str, message: str, expression: str,
                  position: int) -> str:
    return THRESHOLD % (line, col, key, message, expression, " " * position)


CASES = [
    case("bad-scenario-does-not-also-blame-its-targets", """\
        version: 1
        scenarios:
          load: {driver: stub-http, vuss: 10}
        targets:
          lat: {metric: http.req_duration, target: p(95) < 200ms}
        """,
         "{f}:3:29: scenarios.load.vuss: unknown key 'vuss'; did you mean 'vus'?"),
    # -- YAML itself ----------------------------------------------------------------------
    case("yaml-colon-in-value", """\
        version: 1
        description: latency: fast
        """, "{f}:2:21: invalid YAML: unexpected ':' (quote a value that contains ': ', or "
             "check the indentation)"),
    case("yaml-unclosed-quote", """\
        version: 1
        scenarios:
          load:
            driver: "synthetic
        """, "{f}:5:1: invalid YAML: found unexpected end of stream while scanning a quoted "
             "value that starts at line 4, column 13"),
    case("yaml-unclosed-flow-mapping", """\
        version: 1
        scenarios:
          load: {driver: synthetic, operations: 5
        targets: {}
        """, "{f}:4:8: invalid YAML: expected ',' or '}', but got ':' while parsing a {...} "
             "mapping that starts at line 3, column 9"),
    case("yaml-bad-indentation", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
           operations: 5
        """, "{f}:5:4: invalid YAML: this line is not indented like the lines before it "
             "(check the indentation)"),
    case("yaml-tab-indentation", "version: 1\nscenarios:\n\tload: {driver: synthetic}\n",
         "{f}:3:1: invalid YAML: a tab character; YAML is indented with spaces, not tabs"),
    case("duplicate-key", """\
        version: 1
        scenarios:
          load: {driver: synthetic}
          load: {driver: synthetic, operations: 5}
        """, "{f}:4:3: scenarios.load: duplicate key 'load'"),
    case("duplicate-top-level-key", """\
        version: 1
        targets: {}
        collectors: {}
        targets: {}
        """, "{f}:4:1: targets: duplicate key 'targets'"),
    case("yaml-undefined-alias", """\
        version: 1
        scenarios:
          load: *base
        """, "{f}:3:9: invalid YAML: found undefined alias 'base'"),
    # -- the top level ----------------------------------------------------------------------
    case("empty-file", "",
         "{f}:1:1: the file is empty; expected a mapping that starts with 'version: 1'"),
    case("only-comments", "# targets for the checkout service\n\n# TODO\n",
         "{f}:1:1: the file is empty; expected a mapping that starts with 'version: 1'"),
    case("top-level-list", """\
        - version: 1
        - scenarios: {}
        """, "{f}:1:1: expected a mapping (version:, scenarios:, targets: ...), got a list"),
    case("top-level-text", "perfgate targets\n",
         "{f}:1:1: expected a mapping (version:, scenarios:, targets: ...), got the text "
         "'perfgate targets'"),
    case("missing-version", """\
        scenarios:
          load: {driver: synthetic}
        """, "{f}:1:1: version: missing required key 'version' (write 'version: 1' at "
             "the top)"),
    case("version-2", """\
        version: 2
        scenarios: {}
        """, "{f}:1:10: version: expected 1 (the only targets file version this perfgate "
             "reads), got 2"),
    case("version-two", 'version: "2"\n',
         "{f}:1:10: version: expected 1 (the only targets file version this perfgate reads), "
         "got '2'"),
    case("duration-without-unit", """\
        version: 1
        scenarios:
          load: {driver: stub-http, duration: 30}
        """, "{f}:3:39: scenarios.load.duration: 30 has no unit: write 30s for seconds or 30ms "
             "for milliseconds (k6 reads a bare number as milliseconds, so perfgate asks)"),
    case("unknown-top-level-key", """\
        version: 1
        scenarois:
          load: {driver: synthetic}
        """, "{f}:2:1: scenarois: unknown key 'scenarois'; did you mean 'scenarios'?"),
    case("section-not-a-mapping", """\
        version: 1
        targets:
          - {metric: synthetic.latency, target: p(95) < 20ms}
        """, "{f}:3:3: targets: expected a mapping (key: value, ...)"),
    # -- scenarios --------------------------------------------------------------------------
    case("scenario-key-did-you-mean-vus", """\
        version: 1
        scenarios:
          load:
            driver: stub-http
            executor: constant-vus
            vsu: 10
            duration: 30s
        """, "{f}:6:5: scenarios.load.vsu: unknown key 'vsu'; did you mean 'vus'?"),
    case("scenario-key-did-you-mean-synthetic", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            latncy_ms: 5
        """, "{f}:5:5: scenarios.load.latncy_ms: unknown key 'latncy_ms'; did you mean "
             "'latency_ms'?"),
    case("scenario-unknown-key-lists-keys", """\
        version: 1
        scenarios:
          load: {driver: stub-http, think_time: 1s}
        """, "{f}:3:29: scenarios.load.think_time: unknown key 'think_time'; did you mean "
             "'start_time'?"),
    case("scenario-wrong-type", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            operations: many
        """, "{f}:5:17: scenarios.load.operations: Input should be a valid integer, unable to "
             "parse string as an integer (got 'many')"),
    case("scenario-executor-invalid", """\
        version: 1
        scenarios:
          load: {driver: stub-http, executor: constant-vu}
        """, "{f}:3:39: scenarios.load.executor: Input should be 'constant-vus' or "
             "'ramping-vus' (got 'constant-vu')"),
    case("scenario-tag-not-text", """\
        version: 1
        scenarios:
          load: {driver: synthetic, tags: {canary: yes}}
        """, "{f}:3:44: scenarios.load.tags.canary: expected text (got True)"),
    case("scenario-missing-driver", """\
        version: 1
        scenarios:
          load:
            vus: 10
        """, "{f}:3:3: scenarios.load: missing required key 'driver'"),
    case("scenario-empty", """\
        version: 1
        scenarios:
          load:
        """, "{f}:3:3: scenarios.load: expected a mapping (key: value, ...) (got an empty value)"),
    case("bad-duration", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            duration: 10 sec
        """, "{f}:5:15: scenarios.load.duration: '10 sec' is not a duration; expected e.g. "
             "30s, 500ms, 1m30s, 2h"),
    case("negative-duration", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            duration: -5s
        """, "{f}:5:15: scenarios.load.duration: a duration cannot be negative"),
    case("after-unknown-scenario", """\
        version: 1
        scenarios:
          warmup: {driver: synthetic}
          load: {driver: synthetic, after: warmpu}
        """, "{f}:4:36: scenarios.load.after: unknown scenario 'warmpu'; did you mean "
             "'warmup'? Defined scenarios: warmup, load."),
    case("after-itself", """\
        version: 1
        scenarios:
          load: {driver: synthetic, after: load}
        """, "{f}:3:36: scenarios.load.after: scenario 'load' cannot start after itself"),
    case("after-cycle", """\
        version: 1
        scenarios:
          a: {driver: synthetic, after: c}
          b: {driver: synthetic, after: a}
          c: {driver: synthetic, after: b}
          d: {driver: synthetic, after: c}
        """, "{f}:3:33: scenarios.a.after: these scenarios wait for each other and none would "
             "ever start: a → c → b → a (scenarios.a.after, scenarios.c.after, "
             "scenarios.b.after); one of them must start on its own"),
    case("start-time-without-unit", """\
        version: 1
        scenarios:
          load: {driver: synthetic, start_time: 2}
        """, "{f}:3:41: scenarios.load.start_time: 2 has no unit: write 2s for seconds or 2ms "
             "for milliseconds (k6 reads a bare number as milliseconds, so perfgate asks)"),
    case("during-unknown-scenario", synthetic("""\
        collectors:
          crashy: {during: lod}
        """), "{f}:5:20: collectors.crashy.during: unknown scenario 'lod'; did you mean "
              "'load'? Defined scenarios: load."),
    case("abort-on-fail-without-critical", synthetic("""\
        targets:
          latency: {metric: synthetic.latency, target: p(95) < 10ms, abort_on_fail: true}
        """), "{f}:5:77: targets.latency.abort_on_fail: abort_on_fail stops the load when the "
              "critical threshold is crossed; this target has no 'critical:' (e.g. critical: "
              "p(95) < 1s)"),
    case("delay-abort-eval-without-unit", synthetic("""\
        targets:
          latency: {metric: synthetic.latency, critical: p(95) < 10ms, abort_on_fail: true,
                    delay_abort_eval: 10}
        """), "{f}:6:31: targets.latency.delay_abort_eval: 10 has no unit: write 10s for "
              "seconds or 10ms for milliseconds (k6 reads a bare number as milliseconds, so "
              "perfgate asks)"),
    case("interval-without-unit", synthetic("""\
        collectors:
          system: {interval: 5}
        """), "{f}:5:22: collectors.system.interval: 5 has no unit: write 5s for seconds or "
              "5ms for milliseconds (k6 reads a bare number as milliseconds, so perfgate asks)"),
    case("negative-duration-number", """\
        version: 1
        scenarios:
          load: {driver: stub-http, duration: -30}
        """, "{f}:3:39: scenarios.load.duration: a duration cannot be negative"),
    case("infinite-duration", """\
        version: 1
        scenarios:
          load: {driver: stub-http, duration: .inf}
        """, "{f}:3:39: scenarios.load.duration: expected a duration like 30s, 500ms, 1m30s, "
             "got inf"),
    case("unknown-driver", """\
        version: 1
        scenarios:
          load:
            driver: locust
        """, "{f}:4:13: scenarios.load.driver: unknown driver 'locust'. Installed drivers: "
             "stub-http, synthetic."),
    case("unknown-driver-did-you-mean", """\
        version: 1
        scenarios:
          load: {driver: synthetik}
        """, "{f}:3:18: scenarios.load.driver: unknown driver 'synthetik'; did you mean "
             "'synthetic'? Installed drivers: stub-http, synthetic."),
    # -- services ---------------------------------------------------------------------------
    case("service-url-not-http", """\
        version: 1
        services:
          api:
            url: ftp://127.0.0.1:8000
        """, "{f}:4:10: services.api.url: expected an http:// or https:// URL"),
    case("service-url-without-host", """\
        version: 1
        services:
          api: {url: "http://:8000"}
        """, "{f}:3:14: services.api.url: the URL has no host; expected e.g. "
             "http://127.0.0.1:8000"),
    case("service-url-bad-port", """\
        version: 1
        services:
          api:
            url: http://127.0.0.1:80000/
        """, "{f}:4:10: services.api.url: the URL's port is not a number from 1 to 65535"),
    case("service-not-loopback", """\
        version: 1
        allow_hosts: [staging.example.com]
        services:
          api: {url: "https://prod.example.com"}
        """, "{f}:4:14: services.api.url: service host 'prod.example.com' is not loopback and "
             "not listed under allow_hosts:; perfgate refuses to load other hosts by mistake"),
    case("service-missing-url", """\
        version: 1
        services:
          api: {health: /health}
        """, "{f}:3:3: services.api: missing required key 'url'"),
    case("service-bad-start-timeout", """\
        version: 1
        services:
          api:
            url: http://127.0.0.1:8000
            start_timeout: soon
        """, "{f}:5:20: services.api.start_timeout: 'soon' is not a duration; expected e.g. "
             "30s, 500ms, 1m30s, 2h"),
    case("scenario-undefined-service", """\
        version: 1
        services:
          api: {url: "http://127.0.0.1:8000"}
        scenarios:
          load:
            driver: stub-http
            service: apj
        """, "{f}:7:14: scenarios.load.service: unknown service 'apj'; did you mean 'api'? "
             "Defined services: api."),
    case("scenario-service-none-defined", """\
        version: 1
        scenarios:
          load: {driver: stub-http, service: api}
        """, "{f}:3:38: scenarios.load.service: unknown service 'api'. Defined services: "
             "none."),
    # -- collectors, validators, reporters ----------------------------------------------------
    case("unknown-collector", """\
        version: 1
        collectors:
          sytem: {interval: 1s}
        """, "{f}:3:3: collectors.sytem: unknown collector 'sytem'; did you mean 'system'? "
             "Installed collectors: crashy, system."),
    case("unknown-collector-type", """\
        version: 1
        collectors:
          primary: {type: postgres, dsn: "postgresql://127.0.0.1/test"}
        """, "{f}:3:13: collectors.primary.type: unknown collector 'postgres'. Installed "
             "collectors: crashy, system."),
    case("collector-bad-interval", """\
        version: 1
        collectors:
          system:
            interval: fast
        """, "{f}:4:15: collectors.system.interval: 'fast' is not a duration; expected e.g. "
             "30s, 500ms, 1m30s, 2h"),
    case("collector-not-a-mapping", """\
        version: 1
        collectors:
          system: 1s
        """, "{f}:3:11: collectors.system: expected a mapping (key: value, ...) (got '1s')"),
    case("unknown-validator", """\
        version: 1
        validators:
          regressions: {path: old.json}
        """, "{f}:3:3: validators.regressions: unknown validator 'regressions'. Installed "
             "validators: baseline, thresholds."),
    case("baseline-option-typo", """\
        version: 1
        validators:
          baseline: {path: old.json}
        """, "{f}:3:14: validators.baseline.path: unknown key 'path'; expected one of: "
             "against, branch, confidence, file, min_samples, on_missing_baseline, "
             "on_regression, runs"),
    case("baseline-without-sign", synthetic("""\
        targets:
          latency: {metric: synthetic.latency, baseline: p(95) <= 10%}
        """), bad_threshold(5, 50, "targets.latency.baseline", "a baseline expression is "
                            "relative: give the value a sign, as in +10% or -5ms",
                            "p(95) <= 10%", 9)),
    case("unknown-reporter", """\
        version: 1
        reporters:
          console: {}
          junit: {path: junit.xml}
        """, "{f}:4:3: reporters.junit: unknown reporter 'junit'. Installed reporters: "
             "console, json."),
    case("reporter-unknown-option", """\
        version: 1
        reporters:
          json: {path: result.json, pretty: true}
        """, "{f}:3:29: reporters.json.pretty: unknown key 'pretty'; expected one of: "
             "compact, path"),
    case("reporter-option-did-you-mean", """\
        version: 1
        reporters:
          json:
            pth: result.json
        """, "{f}:4:5: reporters.json.pth: unknown key 'pth'; did you mean 'path'?"),
    # -- targets ----------------------------------------------------------------------------
    case("target-without-thresholds", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            on_missing: warn
        """), "{f}:5:3: targets.latency: a target needs 'target:', 'critical:' or both (e.g. "
             "target: p(95) < 200ms), or a 'baseline:' (e.g. p(95) <= +10%)"),
    case("target-missing-metric", synthetic("""\
        targets:
          latency: {target: p(95) < 20ms}
        """), "{f}:5:3: targets.latency: missing required key 'metric'"),
    case("target-key-did-you-mean", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(95) < 20ms
            critcal: p(95) < 100ms
        """), "{f}:8:5: targets.latency.critcal: unknown key 'critcal'; did you mean "
             "'critical'?"),
    case("target-on-missing-invalid", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(95) < 20ms
            on_missing: ignore
        """), "{f}:8:17: targets.latency.on_missing: Input should be 'fail', 'warn' or 'skip' "
             "(got 'ignore')"),
    case("threshold-unknown-aggregation", synthetic("""\
        targets:
          latency: {metric: synthetic.latency, target: p95 < 20ms, critical: pmax < 80ms}
        """),
         bad_threshold(5, 48, "targets.latency.target", "expected '(' after p, as in p(95)",
                       "p95 < 20ms", 1),
         bad_threshold(5, 70, "targets.latency.critical", "unknown aggregation 'pmax'; "
                       "expected avg, min, max, med, p(N), count, rate, passes, fails "
                       "or value",
                       "pmax < 80ms", 0)),
    case("threshold-missing-operator", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(95) 20ms
        """), bad_threshold(7, 13, "targets.latency.target",
                           "expected an operator: < <= > >= == !=", "p(95) 20ms", 6)),
    case("threshold-single-equals", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: avg = 20ms
        """), bad_threshold(7, 13, "targets.latency.target",
                           "expected an operator: < <= > >= == !=", "avg = 20ms", 4)),
    case("threshold-bad-unit", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            critical: max < 5min
        """), bad_threshold(7, 15, "targets.latency.critical",
                           "unknown unit 'min'; expected one of ms s m % B KB MB GB",
                           "max < 5min", 7)),
    case("threshold-unclosed-percentile", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(95 < 20ms
        """), bad_threshold(7, 13, "targets.latency.target", "expected ')' to close p(",
                           "p(95 < 20ms", 4)),
    case("threshold-trailing-junk", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: "p(95) < 20ms or so"
        """), bad_threshold(7, 13, "targets.latency.target",
                           "unexpected text after the value", "p(95) < 20ms or so", 13)),
    case("threshold-percentile-over-100", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(101) < 20ms
        """), bad_threshold(7, 13, "targets.latency.target",
                           "a percentile is between 0 and 100", "p(101) < 20ms", 2)),
    case("threshold-missing-number", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: p(95) <
        """), bad_threshold(7, 13, "targets.latency.target", "expected a number",
                           "p(95) <", 7)),
    case("threshold-not-text", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency
            target: 20
        """), "{f}:7:13: targets.latency.target: expected text (got 20)"),
    case("aggregation-not-for-rate", synthetic("""\
        targets:
          errors:
            metric: synthetic.failed
            target: p(95) < 5%
        """), "{f}:7:13: targets.errors.target: p(95) does not apply to a rate metric (use one "
             "of: count, fails, passes, rate) (synthetic.failed is a rate in ratio)"),
    case("aggregation-not-for-gauge", """\
        version: 1
        collectors: {system: {}}
        targets:
          cpu: {metric: system.cpu, target: p(95) < 80%}
        """, "{f}:4:37: targets.cpu.target: p(95) does not apply to a gauge metric (use one "
             "of: avg, max, min, value) (system.cpu is a gauge in %)"),
    case("unit-not-for-counter", synthetic("""\
        targets:
          ops:
            metric: synthetic.ops
            critical: count > 5ms
        """), "{f}:7:15: targets.ops.critical: unit 'ms' does not apply to count of a metric in "
             "plain numbers (synthetic.ops is a counter in numbers)"),
    case("percent-not-for-trend", synthetic("""\
        targets:
          latency: {metric: synthetic.latency, target: p(95) < 5%}
        """), "{f}:5:48: targets.latency.target: '%' does not apply to p(95) of a metric in ms "
             "(synthetic.latency is a trend in ms)"),
    case("bare-rate-above-one", http("""\
        targets:
          errors: {metric: http.req_failed, target: rate < 5}
        """), "{f}:5:45: targets.errors.target: rate of a rate metric is a ratio from 0 to 1; "
             "5 is outside it (write 5% or 0.05 for five percent) (http.req_failed is a rate "
             "in ratio)"),
    case("metric-not-produced", http("""\
        targets:
          latency:
            metric: http.req_duraton
            target: p(95) < 200ms
        """), "{f}:6:13: targets.latency.metric: no configured component produces metric "
             "'http.req_duraton'; did you mean 'http.req_duration'? Produced here: "
             "data_received, http.req_duration, http.req_failed, http.reqs."),
    case("metric-of-unconfigured-collector", synthetic("""\
        targets:
          cpu: {metric: system.cpu, target: max < 80%}
        """), "{f}:5:17: targets.cpu.metric: no configured component produces metric "
             "'system.cpu'. Produced here: synthetic.failed, synthetic.latency, synthetic.ops."),
    case("selector-unknown-scenario", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency{scenario:lod}
            target: p(95) < 20ms
        """), "{f}:6:13: targets.latency.metric: unknown scenario 'lod'; did you mean 'load'? "
             "Defined scenarios: load."),
    case("selector-tag-without-value", synthetic("""\
        targets:
          latency:
            metric: synthetic.latency{scenario}
            target: p(95) < 20ms
        """), "{f}:6:13: targets.latency.metric: bad tag filter 'scenario' in "
             "'synthetic.latency{scenario}'; expected tag:value"),
    case("selector-not-a-name", synthetic("""\
        targets:
          latency:
            metric: synthetic latency
            target: p(95) < 20ms
        """), "{f}:6:13: targets.latency.metric: 'synthetic latency' is not a metric selector; "
             "expected name or name{tag:value,...}"),
    case("selector-unclosed-brace", synthetic("""\
        targets:
          latency:
            metric: "synthetic.latency{scenario:load"
            target: p(95) < 20ms
        """), "{f}:6:13: targets.latency.metric: 'synthetic.latency{scenario:load' is not a "
             "metric selector; expected name or name{tag:value,...}"),
    case("scenario-target-bad-threshold", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            targets:
              latency: {metric: synthetic.latency, target: p(95) << 20ms}
        """, bad_threshold(6, 52, "scenarios.load.targets.latency.target", "expected a number",
                           "p(95) << 20ms", 7)),
    case("scenario-target-unknown-key", """\
        version: 1
        scenarios:
          load:
            driver: synthetic
            targets:
              latency: {metric: synthetic.latency, targte: p(95) < 20ms}
        """, "{f}:6:44: scenarios.load.targets.latency.targte: unknown key 'targte'; did you "
             "mean 'target'?"),
    # -- interpolation ----------------------------------------------------------------------
    case("env-variable-unset", """\
        version: 1
        services:
          api:
            url: "http://127.0.0.1:${env:PERFGATE_TEST_UNSET_PORT}"
        """, "{f}:4:10: services.api.url: environment variable PERFGATE_TEST_UNSET_PORT is not "
             "set (referenced as ${env:PERFGATE_TEST_UNSET_PORT}; set it, or give a default: "
             "${env:PERFGATE_TEST_UNSET_PORT:-value})"),
    case("secret-variable-unset", """\
        version: 1
        collectors:
          crashy: {value: "${secret:PERFGATE_TEST_UNSET_TOKEN}"}
        """, "{f}:3:19: collectors.crashy.value: environment variable PERFGATE_TEST_UNSET_TOKEN "
             "is not set (referenced as ${secret:PERFGATE_TEST_UNSET_TOKEN}; set it, or give a "
             "default: ${secret:PERFGATE_TEST_UNSET_TOKEN:-value})"),
    case("every-unset-variable-at-once", """\
        version: 1
        services:
          api:
            url: "http://127.0.0.1:${env:PERFGATE_TEST_UNSET_PORT}"
            env: {TOKEN: "${env:PERFGATE_TEST_UNSET_A}"}
        """, "{f}:4:10: services.api.url: environment variable PERFGATE_TEST_UNSET_PORT is not "
             "set (referenced as ${env:PERFGATE_TEST_UNSET_PORT}; set it, or give a default: "
             "${env:PERFGATE_TEST_UNSET_PORT:-value})",
         "{f}:5:18: services.api.env.TOKEN: environment variable PERFGATE_TEST_UNSET_A is not "
         "set (referenced as ${env:PERFGATE_TEST_UNSET_A}; set it, or give a default: "
         "${env:PERFGATE_TEST_UNSET_A:-value})"),
    # -- several errors at once ---------------------------------------------------------------
    case("several-errors-shape", """\
        version: 1
        scenarois: {}
        services:
          api: {url: "localhost:8000", health: 5}
        reporters: {json: {path: r.json, pretty: true}}
        """,
         "{f}:2:1: scenarois: unknown key 'scenarois'; did you mean 'scenarios'?",
         "{f}:4:14: services.api.url: expected an http:// or https:// URL",
         "{f}:4:40: services.api.health: expected text (got 5)"),
    case("several-errors-meaning", """\
        version: 1
        scenarios:
          load: {driver: synthetic, operations: many}
          soak: {driver: nope}
        collectors:
          system: {interval: fast}
        reporters:
          jsn: {}
        targets:
          latency: {metric: synthetic.latency, target: p(95) <}
          cpu: {metric: system.cpu}
        """,
         "{f}:3:41: scenarios.load.operations: Input should be a valid integer, unable to "
         "parse string as an integer (got 'many')",
         "{f}:4:18: scenarios.soak.driver: unknown driver 'nope'. Installed drivers: "
         "stub-http, synthetic.",
         "{f}:6:22: collectors.system.interval: 'fast' is not a duration; expected e.g. 30s, "
         "500ms, 1m30s, 2h",
         "{f}:8:3: reporters.jsn: unknown reporter 'jsn'; did you mean 'json'? Installed "
         "reporters: console, json.",
         bad_threshold(10, 48, "targets.latency.target", "expected a number", "p(95) <", 7),
         "{f}:11:3: targets.cpu: a target needs 'target:', 'critical:' or both (e.g. target: "
         "p(95) < 200ms), or a 'baseline:' (e.g. p(95) <= +10%)"),
]


def expected_stderr(c: Case, path: Path) -> str:
    return "perfgate: error: " + "\n".join(e.replace("{f}", str(path)) for e in c.errors) + "\n"


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``perfgate ARGV`` in this process: exit code, stdout, stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_malformed_file(c: Case, command: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PERFGATE_TEST_UNSET_PORT", raising=False)
    monkeypatch.delenv("PERFGATE_TEST_UNSET_TOKEN", raising=False)
    path = tmp_path / "targets.yml"
    path.write_text(c.yaml)
    out_dir = tmp_path / "out"
    argv = [command, str(path)]
    if command == "run":
        argv += ["--output", str(out_dir), "--no-progress"]
    code, out, err = invoke(argv, capsys)
    assert (code, err) == (2, expected_stderr(c, path))
    assert out == ""
    assert "Traceback" not in out + err
    assert not out_dir.exists()  # nothing ran, nothing was written


def test_a_file_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing.yml"
    for argv in (["check", str(path)], ["run", str(path), "--output", str(tmp_path)]):
        code, out, err = invoke(argv, capsys)
        assert (code, out) == (2, "")
        assert err == f"perfgate: error: {path}: cannot read the targets file: No such file " \
                      "or directory\n"


def test_a_folder_instead_of_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["check", str(tmp_path)], capsys)
    assert code == 2
    assert err == f"perfgate: error: {tmp_path}: cannot read the targets file: Is a directory\n"


def test_a_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_bytes(b"version: 1\ndescription: caf\xe9\n")
    code, _, err = invoke(["check", str(path)], capsys)
    assert code == 2
    assert err == f"perfgate: error: {path}: the targets file is not UTF-8 text (invalid " \
                  "continuation byte at byte 27)\n"


SECRET_CASES = [
    # a value read from the environment is rejected; the error must not print it
    ("collectors:\n  crashy: {value: '${env:PERFGATE_TEST_DB_PASSWORD}'}\n",
     "{f}:3:19: collectors.crashy.value: Input should be a valid number, unable to parse "
     "string as a number (got '***')"),
    ("collectors:\n  crashy: {fail_on: '${secret:PERFGATE_TEST_VALUE}'}\n",
     "{f}:3:21: collectors.crashy.fail_on: Input should be 'never', 'start' or 'stop' "
     "(got '***')"),
    ("scenarios:\n  load: {driver: '${env:PERFGATE_TEST_DB_PASSWORD}'}\n",
     "{f}:3:18: scenarios.load.driver: unknown driver '***'. Installed drivers: stub-http, "
     "synthetic."),
    ("scenarios:\n  load: {driver: stub-http, '${env:PERFGATE_TEST_DB_PASSWORD}': 1}\n",
     "{f}:3:29: scenarios.load.***: unknown key '***'; expected one of: after, description, "
     "driver, duration, executor, service, start_time, tags, targets, vus"),
    ("targets:\n  '${secret:PERFGATE_TEST_VALUE}': {metric: x}\n"
     "  '${secret:PERFGATE_TEST_VALUE}': {metric: x}\n",
     "{f}:4:3: targets.***: duplicate key '***'"),
]


@pytest.mark.parametrize(("yaml", "error"), SECRET_CASES)
def test_a_rejected_secret_is_not_printed(yaml: str, error: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PERFGATE_TEST_DB_PASSWORD", "s3cr3t-pw")
    monkeypatch.setenv("PERFGATE_TEST_VALUE", "hunter2")
    path = tmp_path / "targets.yml"
    path.write_text("version: 1\n" + yaml)
    code, out, err = invoke(["check", str(path)], capsys)
    assert (code, out, err) == (2, "", f"perfgate: error: {error.replace('{f}', str(path))}\n")
    assert "hunter2" not in err and "s3cr3t" not in err


GOOD = """\
version: 1
scenarios:
  load: {driver: synthetic, operations: 10}
  soak: {driver: synthetic, operations: 10}
targets:
  latency: {metric: synthetic.latency, target: p(95) < 20ms}
"""


def test_only_naming_an_unknown_scenario(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD)
    out_dir = tmp_path / "out"
    code, out, err = invoke(["run", str(path), "--only", "load", "--only", "lod",
                             "--output", str(out_dir), "--no-progress"], capsys)
    assert (code, out) == (2, "")
    assert err == "perfgate: error: --only 'lod': no such scenario; the file defines: load, " \
                  "soak\n"
    assert not out_dir.exists()


@pytest.mark.parametrize(("value", "message"), [
    ("0", "must be a number greater than 0, got '0'"),
    ("-1", "must be a number greater than 0, got '-1'"),
    ("-0.5", "must be a number greater than 0, got '-0.5'"),
    ("nan", "must be a number greater than 0, got 'nan'"),
    ("inf", "must be a number greater than 0, got 'inf'"),
    ("abc", "expected a number, got 'abc'"),
    ("", "expected a number, got ''"),
])
def test_bad_time_scale(value: str, message: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD)
    code, out, err = invoke(["run", str(path), "--time-scale", value,
                             "--output", str(tmp_path / "out")], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: perfgate run ")
    assert err.endswith(f"perfgate: error: argument --time-scale: {message}\n")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_scenario_names_are_kept_as_written(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """YAML 1.1 reads a bare ``on``/``off``/``yes`` as a boolean; a name must stay a name."""
    path = tmp_path / "targets.yml"
    path.write_text("version: 1\nscenarios:\n  off: {driver: synthetic}\n  on: {driver: "
                    "synthetic}\ntargets:\n  t: {metric: 'synthetic.latency{scenario:off}', "
                    "target: p(95) < 20ms}\n")
    code, out, err = invoke(["check", str(path)], capsys)
    assert (code, err) == (0, "")
    assert "2 scenarios" in out


def test_numbers_are_fine_as_environment_and_tag_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_text("version: 1\nservices:\n  api: {url: 'http://127.0.0.1:8000', env: "
                    "{PORT: 8000, RATIO: 0.5}}\nscenarios:\n  load: {driver: synthetic, "
                    "tags: {build: 1234}}\n")
    code, out, err = invoke(["check", str(path)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: OK: 1 service, 1 scenario")


# -- the same from the outside: the installed `perfgate` command ---------------------------

SUBPROCESS_CASES = ["yaml-tab-indentation", "unknown-driver", "threshold-bad-unit",
                    "several-errors-meaning"]


@pytest.fixture
def command_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    if not PERFGATE.exists():
        pytest.skip(f"{PERFGATE} is not installed (run ./dev install)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFGATE_TEST_")}
    env.update(PERFGATE_NO_ENTRYPOINTS="1", PERFGATE_PLUGINS="gateplugin",
               PYTHONPATH=os.pathsep.join([str(E2E), env.get("PYTHONPATH", "")]))
    return env


def _stub_http_free(c: Case) -> Case:
    """The subprocess has no stub-http driver; drop it from the lists of installed drivers."""
    return Case(c.id, c.yaml, tuple(e.replace("stub-http, ", "") for e in c.errors))


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_malformed_file_from_the_command_line(case_id: str, tmp_path: Path,
                                              command_env: dict[str, str]) -> None:
    c = _stub_http_free(next(c for c in CASES if c.id == case_id))
    path = tmp_path / "targets.yml"
    path.write_text(c.yaml)
    for command in ("check", "run"):
        proc = subprocess.run([str(PERFGATE), command, str(path)], cwd=tmp_path,
                              env=command_env, capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stderr) == (2, expected_stderr(c, path))
        assert "Traceback" not in proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets.yml"]


def test_bad_time_scale_from_the_command_line(tmp_path: Path,
                                              command_env: dict[str, str]) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(GOOD)
    proc = subprocess.run([str(PERFGATE), "run", str(path), "--time-scale", "0"],
                          cwd=tmp_path, env=command_env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.endswith("perfgate: error: argument --time-scale: must be a number "
                                "greater than 0, got '0'\n")
    assert "Traceback" not in proc.stderr
