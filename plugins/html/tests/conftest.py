"""Result documents with known numbers, and a real headless Chromium to open reports in."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from perfgate import Check, MetricSet, ResultDocument, ThresholdOutcome, Verdict

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
HOSTILE = "<script>alert(\"x\")</script> it's \"quoted\" & <b>bold</b>"


def load_metrics(hostile: bool = False) -> MetricSet:
    """Scenario ``load`` over 10 s: endpoint ``health`` answers in 1..100 ms (one each, in
    order, ten per second), ``users`` in 10 ms, 404 for 5 of them; CPU 10..100%."""
    metrics = MetricSet()
    users = HOSTILE if hostile else "users"
    for i in range(100):
        t = T0 + i / 10
        tags = {"scenario": "load", "name": "health", "method": "GET", "status": "200"}
        metrics.trend("http.req_duration", tags).add(float(i + 1), t)
        metrics.counter("http.reqs", tags).add(1, t)
        metrics.rate("http.req_failed", tags).add(False, t)
        failed = i % 20 == 0
        tags = {"scenario": "load", "name": users, "method": "POST",
                "status": "404" if failed else "200"}
        if failed:
            tags["error"] = "http_4xx"
        metrics.trend("http.req_duration", tags).add(10.0, t)
        metrics.counter("http.reqs", tags).add(1, t)
        metrics.rate("http.req_failed", tags).add(failed, t)
    metrics.set_window(T0, T0 + 10)
    vus = metrics.gauge("vus", {"scenario": "load"}, "")
    cpu = metrics.gauge("system.cpu", {}, "%")
    for second in range(10):
        vus.add(5.0, T0 + second)
        cpu.add(10.0 * (second + 1), T0 + second + 0.5)
    cpu.set_window(T0, T0 + 10)
    return metrics


def make_result(hostile: bool = False, p95: float = 95.0) -> ResultDocument:
    metrics = load_metrics(hostile)
    name = HOSTILE if hostile else "api-latency"
    checks = [
        Check(name, "http.req_duration{scenario:load}", Verdict.PASS, "p(95)", p95, "ms",
              ThresholdOutcome("p(95) < 200ms", 200.0, True),
              ThresholdOutcome("p(95) < 1000ms", 1000.0, True),
              f"p(95) = {p95:.2f}ms; target p(95) < 200ms met → pass", scenario="load"),
        Check("error-rate", "http.req_failed", Verdict.WARN, "rate", 0.025, "ratio",
              ThresholdOutcome("rate < 1%", 0.01, False), ThresholdOutcome("rate < 20%", 0.2, True),
              "rate = 2.50%; target rate < 1% missed; critical rate < 20% met → warn"),
        Check("cpu", "system.cpu", Verdict.FAIL, "max", 100.0, "%",
              ThresholdOutcome("max < 80%", 80.0, False),
              ThresholdOutcome("max < 95%", 95.0, False),
              "max = 100.0%; target max < 80% missed; critical max < 95% missed → fail"),
    ]
    result = ResultDocument(
        run={"id": "run-42", "started": T0 - 2, "finished": T0 + 10.5, "duration": 12.5,
             "targets_file": HOSTILE if hostile else "perfgate.yaml",
             "targets_sha256": "ab" * 32, "time_scale": 1.0, "status": "completed",
             "fail_on": "fail"},
        exit_code=1, checks=checks,
        scenarios=[{"name": "load", "driver": "http", "started": T0, "finished": T0 + 10,
                    "status": "completed", "error": HOSTILE if hostile else None,
                    "start_time": 0.0, "after": None}],
        metrics=metrics.to_list(),
        notes=[HOSTILE] if hostile else [],
        environment={"host": "ci-1", "platform": "Linux", "python": "3.11.7",
                     "perfgate": "0.1.0", "plugins": []},
    )
    result.summarise()
    result.exit_code = 1
    return result


@pytest.fixture
def result() -> ResultDocument:
    return make_result()


@pytest.fixture(name="make_result")
def make_result_fixture() -> Callable[..., ResultDocument]:
    return make_result


@pytest.fixture
def hostile() -> str:
    """A name with markup, a script, quotes and an ampersand."""
    return HOSTILE


class Page(HTMLParser):
    """What a report's markup holds: the text of every table cell by table, scripts, ids."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._script = False
        self.data_block = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self.scripts.append(attributes)
            self._script = attributes.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "script":
            self._script = False

    def handle_data(self, data: str) -> None:
        if self._script:
            self.data_block += data
            return
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)

    def table_with(self, header: str) -> list[list[str]]:
        return next(t for t in self.tables if t and header in t[0])

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_block)


@pytest.fixture
def parse() -> Callable[[str], Page]:
    return Page


# -- a real Chromium, driven over the DevTools protocol ----------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

#: Per chart: the canvas's size, its painted pixels, and those in each line's colour.
CANVAS_PIXELS = """
(() => {
  const colours = [[37, 99, 235], [5, 150, 105], [217, 119, 6]];
  return Array.from(document.querySelectorAll("figure.chart")).map((figure) => {
    const canvas = figure.querySelector("canvas");
    if (!canvas) { return {id: figure.id, canvas: false}; }
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    const lines = colours.map(() => 0);
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] === 0) { continue; }
      painted += 1;
      colours.forEach((c, n) => {
        if (pixels[i + 3] > 200 && Math.abs(pixels[i] - c[0]) < 24 &&
            Math.abs(pixels[i + 1] - c[1]) < 24 && Math.abs(pixels[i + 2] - c[2]) < 24) {
          lines[n] += 1;
        }
      });
    }
    return {id: figure.id, canvas: true, width: canvas.width, height: canvas.height,
            painted: painted, lines: lines};
  });
})()
"""


@dataclass
class Opened:
    """What happened when a report was opened in the browser."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    canvases: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    scripts: int = 0
    screenshot: bytes = b""


async def _open(port: int, url: str, width: int, height: int, shot_height: int,
                scripts: bool) -> Opened:
    import aiohttp

    opened = Opened()
    ids = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as response:
            target = await response.json()
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            loaded = asyncio.Event()
            pending: dict[int, asyncio.Future[Any]] = {}
            answers: list[asyncio.Task[Any]] = []

            async def receive() -> None:
                async for message in ws:
                    event = json.loads(message.data)
                    if "id" in event and event["id"] in pending:
                        pending.pop(event["id"]).set_result(event)
                        continue
                    method, params = event.get("method"), event.get("params", {})
                    if method == "Network.requestWillBeSent":
                        opened.requests.append(params["request"]["url"])
                    elif method == "Runtime.consoleAPICalled" and params["type"] in (
                            "error", "warning", "assert"):
                        opened.console.append(" ".join(
                            str(a.get("value", a.get("description", ""))) for a in params["args"]))
                    elif method == "Log.entryAdded" and params["entry"]["level"] in (
                            "error", "warning"):
                        opened.console.append(params["entry"]["text"])
                    elif method == "Runtime.exceptionThrown":
                        opened.exceptions.append(json.dumps(params["exceptionDetails"]))
                    elif method == "Page.javascriptDialogOpening":
                        opened.dialogs.append(params["message"])
                        answers.append(asyncio.ensure_future(
                            send("Page.handleJavaScriptDialog", accept=True)))
                    elif method == "Page.loadEventFired":
                        loaded.set()

            async def send(method: str, **params: Any) -> Any:
                number = next(ids)
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                pending[number] = future
                await ws.send_json({"id": number, "method": method, "params": params})
                reply = await asyncio.wait_for(future, 30)
                assert "error" not in reply, reply
                return reply.get("result", {})

            reader = asyncio.ensure_future(receive())
            try:
                for domain in ("Runtime", "Log", "Network", "Page"):
                    await send(f"{domain}.enable")
                await send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                           deviceScaleFactor=1, mobile=False)
                await send("Emulation.setScriptExecutionDisabled", value=not scripts)
                await send("Page.navigate", url=url)
                await asyncio.wait_for(loaded.wait(), 30)

                async def evaluate(expression: str) -> Any:
                    reply = await send("Runtime.evaluate", expression=expression,
                                       returnByValue=True)
                    return reply["result"].get("value")

                if not scripts:  # what is on the page is read with scripts on again
                    await send("Emulation.setScriptExecutionDisabled", value=False)
                opened.charts = await evaluate("window.perfgateCharts || []")
                opened.canvases = await evaluate(CANVAS_PIXELS)
                opened.text = await evaluate("document.body.innerText")
                opened.scripts = await evaluate("document.scripts.length")
                full = await evaluate("document.documentElement.scrollHeight")
                shot = await send("Page.captureScreenshot", format="png",
                                  captureBeyondViewport=True,
                                  clip={"x": 0, "y": 0, "width": width,
                                        "height": min(full, shot_height), "scale": 0.75})
                opened.screenshot = base64.b64decode(shot["data"])
                await asyncio.sleep(0.2)  # late console messages and requests arrive
            finally:
                reader.cancel()
    return opened


@pytest.fixture
def chromium() -> Iterator[Callable[..., Opened]]:
    """``chromium(path)`` opens a report in a new headless Chromium and says what happened
    (with a screenshot of its first ``shot_height`` pixels, at 3/4 scale); with
    ``scripts=False`` the page is opened with JavaScript off.

    The browser is lighthouse's :class:`Browser`: a process group of its own, a new empty
    profile, no network of its own; after the test every process of it is gone and its
    folders are removed (asserted).
    """
    browser_module = pytest.importorskip("perfgate_frontend_lighthouse.browser")
    pytest.importorskip("aiohttp")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    browsers = []

    def open_report(path: Path, width: int = 1280, height: int = 900,
                    shot_height: int = 1400, scripts: bool = True) -> Opened:
        browser = browser_module.Browser(CHROMIUM)
        browsers.append(browser)
        port = browser.start()
        profile, scratch = browser.profile, browser.scratch
        try:
            return asyncio.run(_open(port, path.resolve().as_uri(), width, height,
                                     shot_height, scripts))
        finally:
            browser.stop()
            assert browser.leftovers() == [], "Chromium processes outlived the test"
            assert not Path(profile).exists() and not Path(scratch).exists()

    yield open_report
    for browser in browsers:
        browser.stop()
