"""Spotify against the replay server: a refused audio-features endpoint degrades to no features, with a warning."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connectors.core import RunOptions
from connectors.replay import ReplayServer


def test_spotify_degrades_when_audio_features_are_refused(
    replay: ReplayServer, spec_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.core import make_client
    from connectors.spotify.source import audio_features

    options = RunOptions(base_url=replay.base_url("spotify"))
    with make_client(spec_for("spotify"), options) as client, caplog.at_level(logging.WARNING):
        assert audio_features(client, ["a", "b"]) is None
    assert "2024-11-27" in caplog.text
