"""Finding the tools, the messages when one is missing, Chromium's flags, settings as flags."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from perfgate_frontend_lighthouse import tools
from perfgate_frontend_lighthouse.browser import browser_flags, check_flags
from perfgate_frontend_lighthouse.engine import slug
from perfgate_frontend_lighthouse.runner import lighthouse_argv, settings_flags
from perfgate_frontend_lighthouse.tools import ToolMissing


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """A PATH with nothing on it, and an empty cache folder."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PERFGATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CHROME_PATH", raising=False)
    return empty


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{text}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_missing_chromium_says_what_to_install(bare_path):
    with pytest.raises(ToolMissing, match=r"Chromium is not installed .*apt-get install "
                                          r"chromium.*chromium: \(or \$CHROME_PATH\)"):
        tools.find_chromium()
    with pytest.raises(ToolMissing, match="chromium: '/nowhere/chrome' is not an executable"):
        tools.find_chromium("/nowhere/chrome")


def test_chromium_from_chrome_path_with_its_version(bare_path, monkeypatch):
    fake = script(bare_path, "my-chrome", 'echo "Chromium 156.0.8078.114 built on Debian"')
    monkeypatch.setenv("CHROME_PATH", str(fake))
    found = tools.find_chromium()
    assert (found.path, found.version) == (str(fake), "156.0.8078.114")
    broken = script(bare_path, "broken-chrome", "echo 'error while loading shared libraries' "
                                                ">&2; exit 127")
    with pytest.raises(ToolMissing, match=r"shared libraries.*apt-get install chromium"):
        tools.find_chromium(str(broken))


def test_a_missing_lighthouse_or_node_says_what_to_install(bare_path, tmp_path):
    with pytest.raises(ToolMissing, match=r"Node\.js is not installed.*apt-get install nodejs"):
        tools.find_lighthouse()
    script(bare_path, "node", "echo v20.20.2")
    cache = tmp_path / "cache" / "lighthouse" / tools.LIGHTHOUSE_VERSION
    with pytest.raises(ToolMissing) as missing:
        tools.find_lighthouse()
    assert str(missing.value) == (
        f"Lighthouse is not installed (not in {cache}, no lighthouse on PATH): run 'python -m "
        f"perfgate_frontend_lighthouse install' (npm install --prefix {cache} "
        f"lighthouse@{tools.LIGHTHOUSE_VERSION}), put lighthouse on PATH, or set lighthouse: "
        "to its path")


def test_lighthouse_from_the_cache_folder_first(bare_path, tmp_path):
    script(bare_path, "node", "echo v20.20.2")
    script(bare_path, "lighthouse", "echo 11.0.0")
    assert tools.find_lighthouse().version == "11.0.0"
    bin_dir = tmp_path / "cache" / "lighthouse" / tools.LIGHTHOUSE_VERSION / "node_modules/.bin"
    bin_dir.mkdir(parents=True)
    script(bin_dir, "lighthouse", f"echo {tools.LIGHTHOUSE_VERSION}")
    found = tools.find_lighthouse()
    assert (found.path, found.version) == (str(bin_dir / "lighthouse"),
                                           tools.LIGHTHOUSE_VERSION)
    # Installing what is there already only checks it (no npm on this PATH).
    assert tools.install_lighthouse() == found


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("PERFGATE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tools.cache_folder("1.2.3") == tmp_path / "perfgate" / "lighthouse" / "1.2.3"


def test_chromium_flags_are_given_once():
    flags = browser_flags(["--headless=new", "--lang=de", "--lang=de"])
    assert [f for f in flags if f.startswith("--headless")] == ["--headless=new"]
    assert flags.count("--lang=de") == 1
    if os.geteuid() == 0:
        assert "--no-sandbox" in flags
    assert check_flags(["--headless", "--user-data-dir=/tmp/x", "lang", "--lang=de"]) == [
        "--headless conflicts with --headless=new (each Chromium flag is given once)",
        "--user-data-dir is set by perfgate for every browser and cannot be given",
        "'lang' is not a Chromium flag (flags start with --)",
    ]
    assert check_flags(["--headless=old"]) == [
        "--headless=old conflicts with --headless=new (each Chromium flag is given once)"]


def test_settings_become_lighthouse_flags():
    assert settings_flags({
        "throttlingMethod": "devtools",
        "throttling": {"rttMs": 150, "cpuSlowdownMultiplier": 4},
        "screenEmulation": {"disabled": True},
        "skipAudits": ["uses-http2", "bf-cache"],
        "blockedUrlPatterns": ["*.png", "a,b"],
        "extraHeaders": {"Cookie": "a=b"},
        "maxWaitForLoad": None,
    }) == [
        "--throttlingMethod=devtools",
        "--throttling.rttMs=150",
        "--throttling.cpuSlowdownMultiplier=4",
        "--screenEmulation.disabled=true",
        "--skipAudits=uses-http2,bf-cache",
        "--blockedUrlPatterns=*.png",
        "--blockedUrlPatterns=a,b",
        '--extraHeaders={"Cookie": "a=b"}',
    ]
    argv = lighthouse_argv("lh", "http://x/", 9222, Path("/r/base"), "desktop",
                           ["performance", "seo"], {"locale": "de"})
    assert argv == ["lh", "http://x/", "--port=9222", "--hostname=127.0.0.1", "--output=json",
                    "--output=html", "--output-path=/r/base", "--quiet",
                    "--only-categories=performance,seo", "--preset=desktop", "--locale=de"]
    assert "--preset" not in " ".join(lighthouse_argv("lh", "u", 1, Path("b"), "mobile", [], {}))


@pytest.mark.parametrize(("page", "name"), [
    ("/", "root"), ("/records?page=2", "records_page_2"),
    ("http://127.0.0.1:8000/a/b", "127.0.0.1_8000_a_b"), ("home", "home"),
])
def test_page_names_in_file_names(page, name):
    assert slug(page) == name
