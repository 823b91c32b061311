"""Exceptions raised by the corruptions package."""

from __future__ import annotations

from collections.abc import Iterable


class UnknownShift(KeyError, ValueError):
    """A shift name that is not one of the known ones.

    Both a KeyError (it is a failed lookup) and a ValueError (it is a bad argument), so callers
    may catch whichever reads naturally to them.
    """

    def __init__(self, name: object, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown shift {name!r}; known shifts: {', '.join(self.known)}")

    def __str__(self) -> str:
        # KeyError's own __str__ would wrap the message in quotes.
        return str(self.args[0])


class ShiftUnavailable(RuntimeError):
    """A known shift that cannot run on this machine; the message says why."""
