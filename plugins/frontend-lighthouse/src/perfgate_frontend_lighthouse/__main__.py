"""``python -m perfgate_frontend_lighthouse install|status``.

``install`` puts Lighthouse into the cache folder the plugin looks in (with npm); ``status``
prints the Chromium, Node.js and Lighthouse the plugin would use, or what to install. Both exit
1 when something is missing.
"""

from __future__ import annotations

import argparse
import sys

from perfgate_frontend_lighthouse.tools import (
    LIGHTHOUSE_VERSION,
    ToolMissing,
    cache_folder,
    find_chromium,
    find_lighthouse,
    find_node,
    install_lighthouse,
)


def _status() -> int:
    missing = 0
    for label, find in (("chromium", find_chromium), ("node", find_node),
                        ("lighthouse", find_lighthouse)):
        try:
            tool = find()
        except ToolMissing as exc:
            print(f"{label}: missing: {exc}")
            missing += 1
        else:
            print(f"{label}: {tool.version} ({tool.path})")
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfgate_frontend_lighthouse",
                                     description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install", help="install Lighthouse with npm into the "
                                  f"cache folder ({cache_folder()})")
    install.add_argument("--version", default=LIGHTHOUSE_VERSION,
                         help=f"Lighthouse version (default {LIGHTHOUSE_VERSION})")
    commands.add_parser("status", help="show the tools the plugin finds")
    args = parser.parse_args(argv)
    if args.command == "status":
        return _status()
    try:
        tool = install_lighthouse(args.version, cache_folder(args.version))
    except (ToolMissing, RuntimeError) as exc:
        print(f"perfgate-frontend-lighthouse: {exc}", file=sys.stderr)
        return 1
    print(f"lighthouse: {tool.version} ({tool.path})")
    return _status()


if __name__ == "__main__":
    sys.exit(main())
