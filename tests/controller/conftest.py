"""Fixtures shared by the controller tests."""

from tests.controller.manifest_helpers import big_csv, jobs, store

__all__ = ["big_csv", "jobs", "store"]
