"""Realism-mode tests: unit tests on a manual clock, local-cloud tests, the end-to-end run."""
