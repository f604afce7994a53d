"""Stands in for pip's get-pip.py when ansible-test builds its sanity venvs.

ansible-test downloads get-pip.py from ci-files.testing.ansible.com, which a
machine that installs from a package index mirror cannot reach. This does what
get-pip does, from what is here: pip from Python's own ensurepip, then
`pip install ARGS` (the pinned pip ansible-test asks for) from the configured
index. Each step runs in a process of its own: ensurepip imports a pip of its
own that must not serve the second step."""

from __future__ import annotations

import subprocess
import sys

# get-pip's own switches, which pip install does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

if __name__ == "__main__":
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
    wanted = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    sys.exit(subprocess.run([sys.executable, "-m", "pip", "install", *wanted]).returncode)
