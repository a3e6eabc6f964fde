"""Photo files follow their transaction: a report or transition that rolls back takes its stored
files with it, and the daily sweep removes files that no row refers to (a process killed between
the write and the commit)."""

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from chengguan.cases import notifications, services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case, CasePhoto
from chengguan.cases.photos import ingest_photo, removed_unless_committed, store_photo, sweep_orphan_photos

from .factories import make_case, minor, point_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def photo():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(buf, "JPEG")
    return ingest_photo(buf.getvalue(), filename="p.jpg")


def report(city, **extra):
    lon, lat = point_in(city.street_a)
    return services.CaseInput(
        source="inspector",
        minor_class_id=minor().pk,
        description="垃圾",
        lon=lon,
        lat=lat,
        photos=[photo()],
        **extra,
    )


def test_a_report_that_rolls_back_leaves_no_photo_file(city, people, media, monkeypatch):
    def fail(case, event):  # after the photos are stored, before the commit
        assert len(files(media)) == 2  # display copy and thumbnail were written
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notifications, "case_message", fail)
    before = Case.objects.count()
    with pytest.raises(RuntimeError):
        services.case_report(people["inspector_a"], report(city), idempotency_key="k-rollback")
    assert Case.objects.count() == before
    assert files(media) == set()


def test_the_loser_of_a_same_key_race_removes_its_files(city, people, media, monkeypatch):
    data = report(city)
    first, created = services.case_report(people["inspector_a"], data, idempotency_key="k-race")
    assert created and len(files(media)) == 2
    kept = files(media)
    # The second request passed the pre-check before the first committed (as in a real race):
    # it stores its own photo, then the unique key refuses its record and it rolls back.
    real = services._idempotent_existing
    calls = []

    def racing(actor, key, fingerprint):
        calls.append(key)
        return None if len(calls) == 1 else real(actor, key, fingerprint)

    monkeypatch.setattr(services, "_idempotent_existing", racing)
    again, created = services.case_report(people["inspector_a"], data, idempotency_key="k-race")
    assert (again.pk, created, len(calls)) == (first.pk, False, 2)
    assert files(media) == kept


def test_a_transition_that_fails_after_storing_removes_its_files(city, people, media, monkeypatch):
    case = make_case(city, people, CaseStatus.HANDLING)

    def fail(**fields):  # the files are on disk; their row cannot be written
        assert default_storage.exists(fields["image"]) and default_storage.exists(fields["thumbnail"])
        raise RuntimeError("database went away")

    monkeypatch.setattr(CasePhoto.objects, "create", fail)
    with pytest.raises(RuntimeError):
        services.case_handle(
            people["handler_a"], case.pk, version=case.version, result="已清理", photos=[photo()]
        )
    assert files(media) == set()
    assert not CasePhoto.objects.filter(case=case).exists()


def test_nested_blocks_hand_names_to_the_enclosing_one(media):
    with pytest.raises(RuntimeError), removed_unless_committed():
        with removed_unless_committed():
            store_photo(photo())  # the inner block succeeds ...
        assert len(files(media)) == 2
        raise RuntimeError("... but the enclosing transaction rolls back")
    assert files(media) == set()


def test_sweep_removes_old_files_no_row_refers_to(city, people, media):
    case, _created = services.case_report(people["inspector_a"], report(city))
    used = {p for row in CasePhoto.objects.filter(case=case) for p in (row.image, row.thumbnail)}
    old_orphan = default_storage.save("cases/2026/01/0123abcd.jpg", ContentFile(b"x"))
    old_assessment_orphan = default_storage.save("assessment/2026/01/4567ef.jpg", ContentFile(b"y"))
    young_orphan = default_storage.save("cases/2026/01/89abcdef.jpg", ContentFile(b"z"))
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    for name in (*used, old_orphan, old_assessment_orphan):
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))

    result = sweep_orphan_photos()

    assert result == {"kept": 3, "removed": 2}
    assert files(media) == used | {young_orphan}
    assert sweep_orphan_photos() == {"kept": 3, "removed": 0}  # idempotent
