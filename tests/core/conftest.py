"""Fixtures of the core tests."""

from __future__ import annotations

import chinese_calendar
import pytest


@pytest.fixture
def lacking_2027(monkeypatch):
    """chinesecalendar 1.11 has no data after 2026; pin that so these tests survive a library upgrade."""
    real = chinese_calendar.is_workday

    def is_workday_until_2026(day):
        if day.year >= 2027:
            raise NotImplementedError(f"no available data for year {day.year}")
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", is_workday_until_2026)
