"""Command line: ``vsyncer run | dev | version``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["version"]:
        from syncer import __version__

        print(__version__)
        return 0
    print("usage: vsyncer run | dev | version", file=sys.stderr)
    return 2
