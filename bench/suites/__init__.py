"""Suites: named, versioned sets of cells (dataset x direction x shift x severity x stream)."""
