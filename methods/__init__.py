"""Proposed methods (REST), registered on import."""
