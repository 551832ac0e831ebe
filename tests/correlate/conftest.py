"""Fixtures of the correlation engine tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared generators in correlate_synth.py

from correlate_synth import planted_panel


@pytest.fixture
def planted() -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    return planted_panel(7, n_series=30, n_planted=5)
