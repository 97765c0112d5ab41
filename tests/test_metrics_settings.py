"""Metric thresholds and the report row cap come from the settings (environment)."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from resolvers.metrics.catalog import Thresholds


def test_thresholds_default_to_the_spec() -> None:
    options = Settings(_env_file=None).options()  # type: ignore[call-arg]
    assert options.thresholds == Thresholds(60, 5, "Available", "Offline")
    assert options.max_report_rows == 10_000


def test_thresholds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_SLA_THRESHOLD", "30")
    monkeypatch.setenv("INSIGHTS_SHORT_ABANDON_THRESHOLD", "8")
    monkeypatch.setenv("INSIGHTS_AVAILABLE_ACTIVITY", "Ready")
    monkeypatch.setenv("INSIGHTS_OFFLINE_ACTIVITY", "Logged Out")
    monkeypatch.setenv("INSIGHTS_MAX_REPORT_ROWS", "500")
    options = Settings(_env_file=None).options()  # type: ignore[call-arg]
    assert options.thresholds == Thresholds(30, 8, "Ready", "Logged Out")
    assert options.max_report_rows == 500


def test_a_negative_threshold_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_SLA_THRESHOLD", "-1")
    with pytest.raises(ValueError, match="sla_threshold"):
        Settings(_env_file=None)  # type: ignore[call-arg]
