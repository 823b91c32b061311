"""Proposed methods (REST), registered on import."""

from methods import rest  # noqa: F401  (registration)
