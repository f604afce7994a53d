"""Prints `PASSED FAILED` from a pytest JUnit XML report, for scripts/test.sh's
one-line total. Skipped tests count as neither; errors count as failures."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def counts(path: str) -> tuple[int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - bad - skipped, bad


if __name__ == "__main__":
    passed, failed = counts(sys.argv[1])
    print(passed, failed)
