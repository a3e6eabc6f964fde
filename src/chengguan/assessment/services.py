"""Everything that writes grid assessment records: plans, records and their findings (ticked
checklist items with notes and photos), submission with the score, a finding turned into a case,
and loading the configuration (checklists and weights) from a fixture.

Every service checks the actor's role (through the permission chokepoint) and their place in the
plan's team, runs in one transaction and leaves nothing half-written: a refused photo or a bad
item fails the whole call.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import shape

from chengguan.cases import services as case_services
from chengguan.cases.choices import CaseSource
from chengguan.cases.photos import IngestedPhoto, ingest_photo, removed_unless_committed, store_photo
from chengguan.catalog import selectors as catalog_selectors
from chengguan.catalog.models import MinorClass
from chengguan.core import clock, geo
from chengguan.core.errors import Conflict, Invalid
from chengguan.core.permissions import access, can, visible
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

from . import selectors
from .choices import ItemCategory, Level, RecordStatus
from .models import (
    AssessmentPlan,
    AssessmentRecord,
    AssessmentTeam,
    AssessmentWeight,
    Checklist,
    ChecklistItem,
    Finding,
    FindingPhoto,
)

DEFAULT_CONFIG = Path(__file__).resolve().parent / "fixtures" / "checklist_reference.json"
FULL_SCORE = Decimal(100)
MAX_PHOTOS = 6
MAX_NOTE = 500
MAX_PLAN_DAYS = 366
PHOTO_FOLDER = "assessment"


def score_of(deductions) -> Decimal:
    """100 − the deductions, never below 0."""
    return max(Decimal(0), FULL_SCORE - sum((Decimal(d) for d in deductions), Decimal(0)))


def _today() -> dt.date:
    return timezone.localdate(clock.now())


def _note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise Invalid(
            "note_too_long",
            _("说明不能超过 %(n)d 字（现有 %(m)d 字）· note too long") % {"n": MAX_NOTE, "m": len(text)},
        )
    return text


def _require(user, action: str, model) -> None:
    if not can(user, action, model):
        raise PermissionDenied(_("您的角色不能进行此考核操作 · your role cannot do this"))


# --- plans ----------------------------------------------------------------------------------------------


def plan_create(
    actor,
    *,
    name: str,
    team_id: int,
    checklist_id: int,
    first_day: dt.date,
    last_day: dt.date,
    grid_ids=(),
    region_ids=(),
    note: str = "",
) -> AssessmentPlan:
    """A plan: which grids (listed, or all grids of the communities/streets named), when, by which
    team, with which checklist. The grids and regions must be in the actor's jurisdiction."""
    _require(actor, "add", AssessmentPlan)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid("name_required", _("请填写计划名称（不超过 100 字）· a name of at most 100 characters"))
    if last_day < first_day:
        raise Invalid("bad_days", _("结束日期不能早于开始日期 · the last day is before the first day"))
    if (last_day - first_day).days >= MAX_PLAN_DAYS:
        raise Invalid("bad_days", _("一个计划最长一年 · a plan lasts at most a year"))
    team = AssessmentTeam.objects.filter(pk=team_id, active=True).first()
    if team is None:
        raise Invalid("unknown_team", _("未知或已停用的考核组 · unknown team"))
    checklist = Checklist.objects.filter(pk=checklist_id, active=True).first()
    if checklist is None:
        raise Invalid("unknown_checklist", _("未知或已停用的考核清单 · unknown checklist"))
    grid_ids, region_ids = sorted(set(map(int, grid_ids))), sorted(set(map(int, region_ids)))
    if not grid_ids and not region_ids:
        raise Invalid("no_grids", _("请选择要考核的网格、社区或街道 · choose grids, communities or streets"))
    grids = list(visible(actor, UnitGrid).filter(pk__in=grid_ids).values_list("pk", flat=True))
    regions = list(
        visible(actor, Region)
        .filter(pk__in=region_ids, level__in=[RegionLevel.COMMUNITY, RegionLevel.STREET])
        .values_list("pk", flat=True)
    )
    missing = sorted(set(grid_ids) - set(grids)) + sorted(set(region_ids) - set(regions))
    if missing:
        raise Invalid(
            "unknown_place",
            _("网格或区域不存在或不在您的管辖范围内 · unknown grid or region"),
            detail={"ids": missing},
        )
    with transaction.atomic():
        plan = AssessmentPlan.objects.create(
            name=name,
            team=team,
            checklist=checklist,
            first_day=first_day,
            last_day=last_day,
            note=_note(note),
            created_by=actor,
        )
        plan.grids.set(grids)
        plan.regions.set(regions)
    return plan


# --- records ---------------------------------------------------------------------------------------------


def _member_plan(actor, plan_id) -> AssessmentPlan:
    plan = access(actor, AssessmentPlan, plan_id)
    if not plan.team.members.filter(pk=actor.pk).exists():
        raise PermissionDenied(_("您不是该计划考核组的成员 · you are not in this plan's team"))
    return plan


def record_start(actor, plan_id: int, grid_id: int) -> tuple[AssessmentRecord, bool]:
    """Start assessing a grid of a plan; (record, created). The actor's open record of the same
    grid and plan is given back rather than a second one (a double tap starts one record)."""
    _require(actor, "add", AssessmentRecord)
    plan = _member_plan(actor, plan_id)
    today = _today()
    if not plan.active or not (plan.first_day <= today <= plan.last_day):
        raise Conflict(
            "plan_not_running",
            _("该计划不在执行期内（%(first)s 至 %(last)s）· the plan is not running today")
            % {"first": plan.first_day, "last": plan.last_day},
        )
    try:
        grid_id = int(grid_id)
    except (TypeError, ValueError):
        raise Invalid("unknown_grid", _("该网格不在本计划内 · the grid is not in this plan")) from None
    grid = selectors.plan_grids(plan).filter(pk=grid_id).first()
    if grid is None:
        raise Invalid("unknown_grid", _("该网格不在本计划内 · the grid is not in this plan"))
    existing = _open_record(plan, grid, actor)
    if existing is not None:
        return existing, False
    now = clock.now()
    try:
        with transaction.atomic():
            record = AssessmentRecord.objects.create(
                plan=plan,
                grid=grid,
                community_id=grid.community_id,
                street_id=grid.street_id,
                district_id=grid.district_id,
                assessor=actor,
                day=timezone.localdate(now),
                started_at=now,
            )
        return record, True
    except IntegrityError:  # a concurrent tap made it first
        existing = _open_record(plan, grid, actor)
        if existing is None:
            raise
        return existing, False


def _open_record(plan, grid, actor) -> AssessmentRecord | None:
    return AssessmentRecord.objects.filter(
        plan=plan, grid=grid, assessor=actor, status=RecordStatus.DRAFT
    ).first()


def _own_draft(actor, record_id, *, lock: bool = True) -> AssessmentRecord:
    record = access(actor, AssessmentRecord, record_id, "change")
    if record.assessor_id != actor.pk:
        raise PermissionDenied(_("只有开始此记录的考核员可以修改 · only the record's assessor may change it"))
    if lock:
        record = AssessmentRecord.objects.select_for_update().get(pk=record.pk)
    if record.status != RecordStatus.DRAFT:
        raise Conflict("record_submitted", _("该考核记录已提交，不能修改 · the record is already submitted"))
    return record


def _ingest(photos) -> list[IngestedPhoto]:
    """Check every photo before anything is stored (a refused one refuses the call)."""
    return [p if isinstance(p, IngestedPhoto) else ingest_photo(p) for p in photos or []]


def _store_photos(finding: Finding, photos: list[IngestedPhoto], at) -> None:
    """Store the photos and their rows. The caller runs inside `removed_unless_committed`."""
    for photo in photos:
        image, thumb = store_photo(photo, folder=PHOTO_FOLDER)
        FindingPhoto.objects.create(
            finding=finding,
            image=image,
            thumbnail=thumb,
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            taken_at=photo.taken_at,
            uploaded_at=at,
        )


def finding_set(
    actor,
    record_id: int,
    item_id: int,
    *,
    note: str = "",
    photos=(),
    lon: float | None = None,
    lat: float | None = None,
) -> tuple[Finding, bool]:
    """Tick a checklist item as failed in an open record (or update its note, add photos, set its
    position); (finding, created). The deduction is the item's at the time it is ticked."""
    _require(actor, "add", Finding)
    note = _note(note)
    if (lon is None) != (lat is None):
        raise Invalid("bad_location", _("经度和纬度须同时填写 · give both longitude and latitude"))
    ingested = _ingest(photos)
    with removed_unless_committed(), transaction.atomic():
        record = _own_draft(actor, record_id)
        try:
            item_id = int(item_id)
        except (TypeError, ValueError):
            item_id = None
        item = ChecklistItem.objects.filter(pk=item_id, checklist_id=record.plan.checklist_id).first()
        if item is None:
            raise Invalid("unknown_item", _("该检查项不在本计划的清单内 · the item is not in this checklist"))
        finding = Finding.objects.filter(record=record, item=item).first()
        created = finding is None
        if created:
            finding = Finding(record=record, item=item, deduction=item.deduction)
        if len(ingested) + (0 if created else finding.photos.count()) > MAX_PHOTOS:
            raise Invalid(
                "too_many_photos", _("每个扣分项最多 %(n)d 张照片 · too many photos") % {"n": MAX_PHOTOS}
            )
        if note or created:
            finding.note = note
        if lon is not None:
            finding.lon, finding.lat = float(lon), float(lat)
        finding.save()
        _store_photos(finding, ingested, clock.now())
    return finding, created


def finding_remove(actor, record_id: int, item_id: int) -> None:
    """Untick an item of an open record (its photos go with it); refused once it became a case."""
    _require(actor, "delete", Finding)
    with transaction.atomic():
        record = _own_draft(actor, record_id)
        finding = Finding.objects.filter(record=record, item_id=item_id).first()
        if finding is None:
            return
        if finding.case_id:
            raise Conflict(
                "finding_has_case", _("该扣分项已转为案件，不能取消 · the finding is already a case")
            )
        names = [n for p in finding.photos.all() for n in (p.image, p.thumbnail)]
        finding.delete()
        transaction.on_commit(lambda: [default_storage.delete(n) for n in names])


def record_submit(actor, record_id: int, *, note: str = "") -> tuple[AssessmentRecord, bool]:
    """Submit a record: its score is 100 − the deductions of its findings, at least 0;
    (record, submitted now). Submitting a submitted record again changes nothing."""
    _require(actor, "change", AssessmentRecord)
    note = _note(note)
    with transaction.atomic():
        record = access(actor, AssessmentRecord, record_id, "change")
        if record.assessor_id != actor.pk:
            raise PermissionDenied(
                _("只有开始此记录的考核员可以提交 · only the record's assessor may submit it")
            )
        record = AssessmentRecord.objects.select_for_update().get(pk=record.pk)
        if record.status == RecordStatus.SUBMITTED:
            return record, False
        deductions = list(record.findings.values_list("deduction", flat=True))
        record.deductions = sum(deductions, Decimal(0))
        record.score = score_of(deductions)
        record.status = RecordStatus.SUBMITTED
        record.submitted_at = clock.now()
        if note:
            record.note = note
        record.save()
    return record, True


# --- a finding becomes a case ---------------------------------------------------------------------------------


def _case_class(item: ChecklistItem, minor_class_id) -> MinorClass:
    if minor_class_id:
        minor = catalog_selectors.active_minor_class(minor_class_id)
    else:
        minor = selectors.item_case_class(item)
    if minor is None:
        raise Invalid(
            "unknown_class",
            _("请为该检查项选择问题类别 · choose the case class for this item"),
            detail={"item": item.code},
        )
    return minor


def _place(finding: Finding) -> tuple[float, float]:
    if finding.lon is not None and finding.lat is not None:
        return finding.lon, finding.lat
    point = shape(finding.record.grid.geometry).representative_point()
    return point.x, point.y


def _stored_photos(finding: Finding) -> list[IngestedPhoto]:
    photos = []
    for photo in finding.photos.all():
        with default_storage.open(photo.image, "rb") as handle:
            photos.append(ingest_photo(handle.read()))
    return photos


def finding_report(actor, finding_id: int, *, minor_class_id: int | None = None):
    """Turn a finding into a case (source 网格考核) in one action; (case, created). The finding and
    the case are linked both ways (`finding.case`, `case.assessment_finding`); a second call — a
    double tap, another team member — gives back the same case."""
    if not can(actor, "report", Finding):
        raise PermissionDenied(_("您的角色不能把扣分项转为案件 · your role cannot report a finding"))
    finding = access(actor, Finding, finding_id)
    record = finding.record
    if not (record.assessor_id == actor.pk or record.plan.team.members.filter(pk=actor.pk).exists()):
        raise PermissionDenied(_("您不是该计划考核组的成员 · you are not in this plan's team"))
    if finding.case_id:
        return finding.case, False
    with transaction.atomic():
        finding = (
            Finding.objects.select_for_update().select_related("item", "record__grid").get(pk=finding.pk)
        )
        if finding.case_id:  # made while we waited for the lock
            return finding.case, False
        minor = _case_class(finding.item, minor_class_id)
        lon, lat = _place(finding)
        text = _("网格考核：%(item)s") % {"item": finding.item.name}
        if finding.note:
            text = f"{text}。{finding.note}"
        data = case_services.CaseInput(
            source=CaseSource.ASSESSMENT,
            minor_class_id=minor.pk,
            description=text[: case_services.MAX_DESCRIPTION],
            lon=lon,
            lat=lat,
            crs=geo.WGS84,
            address=_("网格 %(code)s") % {"code": finding.record.grid.code},
            photos=_stored_photos(finding),
        )
        case, created = case_services.case_report(
            actor, data, idempotency_key=f"assessment-finding-{finding.pk}"
        )
        finding.case = case
        finding.save(update_fields=["case", "updated_at"])
    return case, created


# --- configuration ----------------------------------------------------------------------------------------


def _decimal(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid("bad_number", f"{what}: {value!r}") from None
    if not (0 <= number <= 100):
        raise Invalid("bad_number", f"{what}: {value} (0–100)")
    return number


def load_config(path: Path | str = DEFAULT_CONFIG) -> dict[str, int]:
    """Load checklists (with their items) and assessment weights from a JSON file. A checklist with
    the same code is updated: its items by code; an item no longer listed is removed unless a
    record used it. A weight with the same level and effective date is replaced."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    counts = {"checklists": 0, "items": 0, "weights": 0}
    with transaction.atomic():
        for entry in data.get("checklists", []):
            checklist, _created = Checklist.objects.update_or_create(
                code=entry["code"],
                defaults={
                    "name": entry["name"],
                    "effective_from": dt.date.fromisoformat(entry["effective_from"]),
                    "basis": entry.get("basis", ""),
                    "local_default": bool(entry.get("local_default", False)),
                    "active": bool(entry.get("active", True)),
                },
            )
            codes = []
            for order, item in enumerate(entry["items"], start=1):
                if item["category"] not in ItemCategory.values:
                    raise Invalid("bad_category", f"{item['code']}: {item['category']}")
                kind, code = (item.get("case") or ["", ""])[:2]
                ChecklistItem.objects.update_or_create(
                    checklist=checklist,
                    code=item["code"],
                    defaults={
                        "category": item["category"],
                        "name": item["name"],
                        "standard": item.get("standard", ""),
                        "deduction": _decimal(item["deduction"], item["code"]),
                        "case_kind": kind,
                        "case_code": code,
                        "order": order,
                    },
                )
                codes.append(item["code"])
                counts["items"] += 1
            used = set(Finding.objects.filter(item__checklist=checklist).values_list("item_id", flat=True))
            checklist.items.exclude(code__in=codes).exclude(pk__in=used).delete()
            counts["checklists"] += 1
        for entry in data.get("weights", []):
            if entry["level"] not in Level.values:
                raise Invalid("bad_level", f"{entry['level']}")
            AssessmentWeight.objects.update_or_create(
                level=entry["level"],
                effective_from=dt.date.fromisoformat(entry["effective_from"]),
                defaults={
                    "weight": _decimal(entry["weight"], entry["level"]),
                    "basis": entry.get("basis", ""),
                },
            )
            counts["weights"] += 1
    return counts
