"""Requests still in flight when k6 ends a test: k6 drops them, perfgate records them.

When ``gracefulStop`` is over (or on Ctrl-C) k6 cancels the iterations still running and
emits nothing for the requests they were waiting on: against a server where every 50th
request hangs, k6 reports 0% failed requests. So the driver runs the user's script through
a small entry module that wraps every request function of ``k6/http`` (the default export
and the named ones are the same functions) and emits a marker sample when a request starts
and another when it returns. A start without an end is a request that never finished; the
:class:`~perfgate_k6_driver.stream.SampleReader` records it as a failed request
(``error: interrupted``, status ``0``) timed from its start to the end of the test.

The entry module re-exports everything the script exports (``options``, ``setup``,
``teardown``, ``handleSummary``, scenario ``exec`` functions), so k6 runs the script as
written; the script's own imports and ``open()`` calls resolve from its own folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: The marker metrics (k6 counters); the reader consumes them, they are never reported.
STARTED = "perfgate_request_started"
ENDED = "perfgate_request_ended"
#: The tag that pairs a start with its end: ``<vu>:<n>``.
ID_TAG = "perfgate_request"

_PATCH = """\
// perfgate: marks the start and the end of every k6/http request, so a request still in
// flight when the test ends is recorded as failed instead of vanishing.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const started = new Counter('@STARTED@');
const ended = new Counter('@ENDED@');
let seq = 0;

function mark(method, url, params) {
  const tags = Object.assign({}, (params && params.tags) || {});
  // k6 names a request by its URL, or by the template of an http.url`...` URL
  tags.name = tags.name || (url && typeof url === 'object' && url.name) || String(url);
  tags.method = method;
  tags['@ID@'] = `${exec.vu.idInTest}:${++seq}`;
  started.add(1, tags);
  return { '@ID@': tags['@ID@'] };
}

function item(entry) {
  if (typeof entry === 'string' || !entry) {
    return ['GET', entry, null];
  }
  if (Array.isArray(entry)) {
    return [String(entry[0]).toUpperCase(), entry[1], entry[3]];
  }
  return [String(entry.method || 'GET').toUpperCase(), entry.url, entry.params];
}

const shapes = {
  get: (a) => ['GET', a[0], a[1]],
  head: (a) => ['HEAD', a[0], a[1]],
  options: (a) => ['OPTIONS', a[0], a[2]],
  del: (a) => ['DELETE', a[0], a[2]],
  post: (a) => ['POST', a[0], a[2]],
  put: (a) => ['PUT', a[0], a[2]],
  patch: (a) => ['PATCH', a[0], a[2]],
  request: (a) => [String(a[0]).toUpperCase(), a[1], a[3]],
};

for (const [name, shape] of Object.entries(shapes)) {
  const original = http[name];
  if (typeof original !== 'function') continue;
  http[name] = function (...args) {
    const [method, url, params] = shape(args);
    const id = mark(method, url, params);
    try {
      return original.apply(this, args);
    } finally {
      ended.add(1, id);
    }
  };
}

if (typeof http.asyncRequest === 'function') {
  const original = http.asyncRequest;
  http.asyncRequest = function (...args) {
    const id = mark(String(args[0]).toUpperCase(), args[1], args[3]);
    return original.apply(this, args).finally(() => ended.add(1, id));
  };
}

if (typeof http.batch === 'function') {
  const original = http.batch;
  http.batch = function (requests, ...rest) {
    const ids = Object.values(requests || {}).map((entry) => {
      const [method, url, params] = item(entry);
      return mark(method, url, params);
    });
    try {
      return original.call(this, requests, ...rest);
    } finally {
      for (const id of ids) ended.add(1, id);
    }
  };
}
""".replace("@STARTED@", STARTED).replace("@ENDED@", ENDED).replace("@ID@", ID_TAG)


#: ``export default ...``, ``export { run as default }``, ``export { default } from ...``.
_DEFAULT_EXPORT = re.compile(r"\bexport\s+default\b|\bexport\s*\{[^}]*\bdefault\b[^}]*\}")


def entry_script(script: Path, workdir: Path) -> Path:
    """Write the entry module for ``script`` into ``workdir``; return its path."""
    patch = workdir / "perfgate-inflight.js"
    patch.write_text(_PATCH, encoding="utf-8")
    target = json.dumps(script.resolve().as_uri())
    lines = ["import './perfgate-inflight.js';", f"export * from {target};"]
    # `export *` leaves the default export out; name it only when the script has one.
    if _DEFAULT_EXPORT.search(script.read_text(encoding="utf-8", errors="replace")):
        lines.append(f"export {{ default }} from {target};")
    entry = workdir / "perfgate-entry.js"
    entry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return entry
