"""Errors the CLI turns into a message and an exit code, never a traceback."""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


class DockyardError(Exception):
    """Something the user can act on. The message says what and how."""

    exit_code = EXIT_RUN_FAILED


class BadInput(DockyardError):
    """Wrong arguments, inventory or environment: nothing was changed."""

    exit_code = EXIT_BAD_INPUT
