"""Where the time went, from py-spy's collapsed stacks (``--format raw``).

    .venv/bin/python benchmarks/profile_summary.py prof.txt [--top 25]

Prints each function's share of the samples of the load (the interpreter's start and the
imports left out), inclusive (anywhere on the stack) and own (on top of it).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def frames(stack: str) -> list[str]:
    """``func (file:line)`` frames without the line, outermost first."""
    out = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        out.append(f"{name} ({where.rsplit(':', 1)[0].rsplit('/', 1)[-1].rstrip(')')})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for text in args.profile.read_text().splitlines():
        stack, _, count = text.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        chain = frames(stack)
        if not any("perfgate" in f or "engine" in f or "uvloop" in f for f in chain):
            continue  # the interpreter starting, imports, threads asleep
        total += n
        for frame in set(chain):
            inclusive[frame] += n
        own[chain[-1]] += n
    print(f"{total} samples")
    print(f"{'inclusive':>9} {'own':>6}  function")
    for frame, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:8.1f}% {100 * own[frame] / total:5.1f}%  {frame}")
    print("\nown time, the top:")
    for frame, n in own.most_common(args.top):
        print(f"{100 * n / total:8.1f}%  {frame}")


if __name__ == "__main__":
    main()
