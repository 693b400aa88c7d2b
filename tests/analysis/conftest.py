"""Fixtures for the analysis tests: the shipped model is loaded once per session."""

from __future__ import annotations

import pytest

from meaculpa.analysis import SentimentModel, load_shipped_model, warm_up


@pytest.fixture(scope="session")
def shipped_model() -> SentimentModel:
    warm_up()
    return load_shipped_model()
