"""Errors a user can cause: one clear line and a hint; the CLI exits 2 on them."""

from __future__ import annotations


class BenchError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits with code 2."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")


class UnknownNameError(BenchError):
    """An unknown method, suite, shift or model name."""

    def __init__(self, kind: str, name: str, known: list[str]):
        super().__init__(f"unknown {kind} '{name}'", f"known: {', '.join(sorted(known)) or 'none'}")


class DataError(BenchError):
    """A missing data root, a missing file, or a malformed annotation."""


class WeightsError(BenchError):
    """A checkpoint that cannot be found or read."""


class ConfigError(BenchError):
    """A bad option value (``--set``, ``--severity``, a config file...)."""


class UnavailableError(BenchError):
    """Something needed by a cell is not installed or not supplied (recorded as `unavailable`)."""
