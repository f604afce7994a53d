"""Loaded by pytest for every Molecule scenario's Testinfra verifier (it sits
between the scenarios' tests and the rootdir): the verifiers share the pytest
suite's helpers (tests/integration/support.py: wait_for, sh, psql) instead of each
scenario keeping its own copy."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
