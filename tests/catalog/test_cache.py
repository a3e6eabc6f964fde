"""The per-process copy of the active catalogue that intake and deadlines read."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chengguan.catalog import selectors
from chengguan.catalog.models import MinorClass, StageLimit

pytestmark = pytest.mark.django_db


def a_class() -> MinorClass:
    return MinorClass.objects.get(name="暴露垃圾", major__catalog__active=True)


def test_an_active_class_comes_with_its_limits_loaded(city, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(selectors, "CHECK_SECONDS", 3600.0)
    cls = a_class()
    selectors.active_minor_class(cls.pk)
    with django_assert_num_queries(0):
        cached = selectors.active_minor_class(cls.pk)
        limit = cached.limit("handle")
    assert cached.pk == cls.pk and cached.major.catalog.active
    assert limit == StageLimit.objects.get(minor=cls, stage="handle", urgency="normal")
    assert selectors.active_minor_class(-1) is None and selectors.active_minor_class("x") is None


def test_a_change_in_this_process_counts_at_once(city, monkeypatch):
    monkeypatch.setattr(selectors, "CHECK_SECONDS", 3600.0)
    cls = a_class()
    assert selectors.active_minor_class(cls.pk) is not None
    cls.active = False
    cls.save()  # the admin and the catalogue services save: the signal forgets the copy
    assert selectors.active_minor_class(cls.pk) is None
    limit = StageLimit.objects.get(minor=cls, stage="handle", urgency="normal")
    cls.active = True
    cls.save()
    limit.amount += 1
    limit.save()
    assert selectors.active_minor_class(cls.pk).limit("handle").amount == limit.amount


def test_another_process_s_change_counts_within_the_check_interval(city, monkeypatch):
    """No signal reaches this process when another one edits: the stamp (counts, last change)
    is compared at most every CHECK_SECONDS."""
    cls = a_class()
    monkeypatch.setattr(selectors, "CHECK_SECONDS", 3600.0)
    assert selectors.active_minor_class(cls.pk) is not None
    # as another process would: a saved change (updated_at moves), but no signal here
    MinorClass.objects.filter(pk=cls.pk).update(active=False, updated_at=timezone.now())
    assert selectors.active_minor_class(cls.pk) is not None  # still the copy, within the interval
    monkeypatch.setattr(selectors, "CHECK_SECONDS", 0.0)
    assert selectors.active_minor_class(cls.pk) is None
