"""Requests still in flight when k6 ends a test: k6 drops them, perfgate records them.

When ``gracefulStop`` is over (or on Ctrl-C) k6 cancels the iterations still running and
emits nothing for the requests they were waiting on: against a server where every 50th
request hangs, k6 reports 0% failed requests. So the driver runs the user's script through
a small entry module that wraps every request function of ``k6/http`` (the default export
and the named ones are the same functions) and emits a marker sample when a request starts;
the request's own ``http_reqs`` sample ends it. A start without an end never finished; the
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
#: A start is ended by the request's own ``http_reqs`` sample, or by ``ENDED`` when the
#: request threw before k6 measured it (an invalid URL).
STARTED = "perfgate_request_started"
ENDED = "perfgate_request_threw"
#: The sample metadata that pairs a start with its end: ``<vu>:<n>``.
ID_TAG = "perfgate_request"

_PATCH = """\
// perfgate: marks every k6/http request as it starts, so one still in flight when the test
// ends is recorded as failed instead of vanishing. The request's id travels as sample
// metadata, which k6 copies onto the request's own samples (http_reqs ends it) and does not
// index: a tag unique to each request would make a time series per request.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const started = new Counter('@STARTED@');
const threw = new Counter('@ENDED@');  // a request that threw before k6 measured it
let prefix = '';
let meta = null;
let seq = 0;

function nameOf(url, params) {
  // k6 names a request by its name tag, the template of an http.url`...` URL, or its URL
  const tags = params && params.tags;
  if (tags && tags.name) return String(tags.name);
  if (url && typeof url === 'object' && url.name) return String(url.name);
  return String(url);
}

function begin(method, url, params, id) {
  if (meta === null) {
    prefix = exec.vu.idInTest + ':';
    meta = exec.vu.metrics.metadata;
  }
  id = id || prefix + (++seq);
  meta['@ID@'] = id;
  started.add(1, { name: nameOf(url, params), method: String(method).toUpperCase() });
  return id;
}

function fail(id, count) {
  meta['@ID@'] = id;
  threw.add(count);
}

function wrap(fn, method, u, p) {
  const original = http[fn];
  if (typeof original !== 'function') return;
  http[fn] = function () {
    const id = begin(method || arguments[0], arguments[u], arguments[p]);
    try {
      return original.apply(this, arguments);
    } catch (e) {
      fail(id, 1);
      throw e;
    } finally {
      delete meta['@ID@'];
    }
  };
}

wrap('get', 'GET', 0, 1);
wrap('head', 'HEAD', 0, 1);
wrap('options', 'OPTIONS', 0, 2);
wrap('del', 'DELETE', 0, 2);
wrap('post', 'POST', 0, 2);
wrap('put', 'PUT', 0, 2);
wrap('patch', 'PATCH', 0, 2);
wrap('request', null, 1, 3);

if (typeof http.asyncRequest === 'function') {
  const original = http.asyncRequest;
  http.asyncRequest = function () {
    const id = begin(arguments[0], arguments[1], arguments[3]);
    try {
      return original.apply(this, arguments).catch((e) => {
        fail(id, 1);
        throw e;
      });
    } finally {
      delete meta['@ID@'];
    }
  };
}

if (typeof http.batch === 'function') {
  const original = http.batch;
  http.batch = function (requests) {
    // one id for the whole batch: each of its requests' samples ends one of its starts
    let id = null;
    const entries = Object.values(requests || {});
    for (const entry of entries) {
      if (typeof entry === 'string' || !entry) id = begin('GET', entry, null, id);
      else if (Array.isArray(entry)) id = begin(entry[0], entry[1], entry[3], id);
      else id = begin(entry.method || 'GET', entry.url, entry.params, id);
    }
    try {
      return original.apply(this, arguments);
    } catch (e) {
      if (id) fail(id, entries.length);
      throw e;
    } finally {
      if (meta) delete meta['@ID@'];
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
