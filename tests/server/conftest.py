"""Marks for the server tests: `e2e` ones run the real reader on rendered cards (a few seconds in all)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs the real OCR reader on rendered cards over HTTP")
