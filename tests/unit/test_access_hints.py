"""The hints added to a failure when a host lacks what the way in needs.
The messages are Ansible's and the shell's words as they reach the CLI (a
sudo that asks for a password is also run for real in test_ssh_host_keys)."""

from __future__ import annotations

import pytest

from dockyard import access

CASES = {
    "sudo asks for a password": ("Task failed: Missing sudo password", "password-less sudo"),
    "sudo refuses the user": ("nosudo is not in the sudoers file.", "password-less sudo"),
    "no sudo": ("MODULE FAILURE\n/bin/sh: 1: sudo: not found", "sudo is not installed"),
    "no python3": ("MODULE FAILURE\n/bin/sh: 1: /usr/bin/python3: not found", "python3 is not installed"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_a_missing_piece_is_named_with_its_fix(case: tuple[str, str]) -> None:
    message, hint = case
    explained = access.explain(message)
    assert explained.startswith(message) and hint in explained


def test_other_failures_are_left_as_they_are() -> None:
    assert access.explain("Unable to start service docker") == "Unable to start service docker"
