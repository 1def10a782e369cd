"""Exceptions for unusable invocations and unusable plan files.

Anything wrong *inside a returned workbook* is a Finding (data), never an exception.
Every exception here carries a Chinese message meant for the person at the terminal.
"""

from __future__ import annotations


class PdreportError(Exception):
    """Base class: ``str(err)`` is a complete Chinese message for the user."""

    exit_code = 2


class UsageError(PdreportError):
    """The command was asked for something that cannot be done (unknown period, missing folder…)."""


class OutputError(PdreportError):
    """An output could not be written (no permission, disk full…); nothing partial is left behind."""

    exit_code = 3
