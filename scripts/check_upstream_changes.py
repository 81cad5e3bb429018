#!/usr/bin/env python3
"""Check recent upstream releases of the integrations for breaking changes.

A thin wrapper over ``compat upstream`` for those who expect this script; same flags::

    python scripts/check_upstream_changes.py                      # all integrations, last 7 days
    python scripts/check_upstream_changes.py --integration crewai
    python scripts/check_upstream_changes.py --days 30 -v

Exit codes: 0 nothing high, 1 a release scored high, 2 could not check.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from compat.cli import main
except ImportError:  # run from a checkout without installing nox-compat
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from compat.cli import main

if __name__ == "__main__":
    sys.exit(main(["upstream", *sys.argv[1:]]))
