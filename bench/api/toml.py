"""TOML reading for every bench file format (suite files, method configs, cluster settings):
the standard library's ``tomllib`` on Python >= 3.11, the ``tomli`` package it came from on
Python 3.10 (a dependency there)."""

from __future__ import annotations

from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TOMLDecodeError = tomllib.TOMLDecodeError


def parse_toml(text: str) -> dict[str, Any]:
    """The table a TOML document holds (`TOMLDecodeError` names line and column)."""
    return tomllib.loads(text)


__all__ = ["TOMLDecodeError", "parse_toml", "tomllib"]
