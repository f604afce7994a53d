"""What the way into a host needs besides SSH itself: sudo that asks no
password (become: true), and python3 for Ansible's modules. Ansible's words
for a missing piece are short ("Missing sudo password", "/bin/sh: 1:
/usr/bin/python3: not found"); these say what to change on the host."""

from __future__ import annotations

# (what Ansible or the host printed, what to do), the first match wins.
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Missing sudo password", "a password is required", "is not in the sudoers file"),
        "sudo on this host asks the SSH user for a password, or does not let it in: give it"
        " password-less sudo (a file in /etc/sudoers.d/ with `USER ALL=(ALL) NOPASSWD: ALL`,"
        " mode 0440), or put ansible_become_password in the inventory's vault.",
    ),
    (
        ("sudo: not found", "sudo: command not found"),
        "sudo is not installed on this host (ansible_become: true needs it): install it as"
        " root (apt-get install sudo), or connect as root (ansible_user: root).",
    ),
    (
        ("python3: not found", "python3: No such file or directory", "python3: command not found"),
        "python3 is not installed on this host, and Ansible's modules need it: install it"
        " as root (apt-get install python3).",
    ),
)


def explain(message: str) -> str:
    """A failure message, with what to do when the host lacks sudo or python3."""
    for needles, hint in HINTS:
        if any(needle in message for needle in needles):
            return f"{message}\n{hint}"
    return message
