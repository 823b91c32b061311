"""Errors a user can cause: one clear line and a hint; the CLI exits 2 on them."""

from __future__ import annotations


class BenchError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits with code 2."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")

    def one_line(self) -> str:
        """The message's first line and the hint's: what the CLI prints. A library's
        multi-line exception pasted into a message keeps only its first line, so the
        hint stays on the line the user reads."""
        message = first_line(self.message) or type(self).__name__
        hint = first_line(self.hint or "")
        return f"{message} ({hint})" if hint else message

    def __reduce__(self):
        # Rebuilt from its message and hint, whatever the subclass's __init__ takes, so an
        # error raised in a worker process reaches the parent intact.
        return (_rebuild, (type(self), self.message, self.hint))


def _rebuild(cls: type[BenchError], message: str, hint: str | None) -> BenchError:
    err = cls.__new__(cls)
    BenchError.__init__(err, message, hint)
    return err


def first_line(text: str) -> str:
    """The first non-blank line of `text`, stripped ('' when there is none)."""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def describe(err: BaseException) -> str:
    """``Type: first line`` of any exception (the type alone when its message is empty)."""
    line = first_line(str(err))
    return f"{type(err).__name__}: {line}" if line else type(err).__name__


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
