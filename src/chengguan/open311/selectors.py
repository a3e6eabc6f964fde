"""What the Open311 interface publishes: the service list from the active catalogue, and service
requests built from an explicit allow-list of fields.

Service codes: the kind of the class (`E` event, `C` component) and its full code, so `E0102` is
the event 01 02 (暴露垃圾) and `C0101` the component 01 01 (上水井盖): the two kinds number their
classes independently (both have a 0101), so the letter keeps codes unique.

Requests are public (GET needs no key), so they are published without any personal data: never
the reporter's name, phone or e-mail, never a photo or its EXIF location; free text (description,
address, status notes) has phone numbers, identity numbers and e-mail addresses masked, and the
reporter's own name and phone, should they have typed them into the text, removed. Only cases
from the sources in `settings.OPEN311_PUBLIC_SOURCES` are published (by default: those filed
through this interface); a duplicate reports the progress of the case it repeats.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils import timezone, translation

from chengguan.cases.choices import FINAL_STATUSES, CaseAction, CaseSource, CaseStatus
from chengguan.cases.models import Case, CaseEvent
from chengguan.cases.selectors import public_view
from chengguan.catalog.choices import ClassKind, Stage
from chengguan.catalog.models import Catalog, MajorClass, MinorClass

from .render import clean_text

KIND_LETTER = {ClassKind.EVENT: "E", ClassKind.COMPONENT: "C"}
LETTER_KIND = {v: k for k, v in KIND_LETTER.items()}
SERVICE_CODE = re.compile(r"^([CE])(\d{2})(\d{2,3})$")
CLOSED_STATUSES = frozenset(FINAL_STATUSES)
OPEN_STATUSES = frozenset(CaseStatus.values) - CLOSED_STATUSES  # suspended (挂账) is still open
LANGUAGE = "zh-hans"  # status texts and notices are in Chinese whatever the client's Accept-Language
MEDIA_MARK = "\n\n[media_url] "  # how a submitted media_url is kept in the description (staff only)


def public_sources() -> tuple[str, ...]:
    return tuple(getattr(settings, "OPEN311_PUBLIC_SOURCES", (CaseSource.OPEN311,)))


def local_iso(value: dt.datetime | None) -> str | None:
    """W3C / ISO 8601 with the offset, in local time: 2026-10-08T10:00:00+08:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# --- services ------------------------------------------------------------------------------------


def service_code(minor: MinorClass) -> str:
    return f"{KIND_LETTER[minor.major.kind]}{minor.major.code}{minor.code}"


def offered_services() -> QuerySet:
    """Minor classes of the active catalogue that can be reported here (active, and not requiring a
    photo: GeoReport v2 has no upload, and media_url is never fetched). Events first."""
    return (
        MinorClass.objects.filter(active=True, photo_required=False, major__catalog__active=True)
        .select_related("major")
        .prefetch_related("limits")
        .order_by("-major__kind", "major__code", "code")
    )


def find_service(code: str) -> MinorClass | None:
    match = SERVICE_CODE.match((code or "").strip().upper())
    if match is None:
        return None
    letter, major, minor = match.groups()
    return offered_services().filter(major__kind=LETTER_KIND[letter], major__code=major, code=minor).first()


def service_dict(minor: MinorClass) -> dict:
    kind = ClassKind(minor.major.kind).label
    initials, _, syllables = (minor.pinyin or "").partition(" ")
    keywords = [str(kind), minor.major.name, initials, syllables.replace(" ", "")]
    return {
        "service_code": service_code(minor),
        "service_name": minor.name,
        "description": minor.registration_condition,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(k for k in keywords if k),
        "group": minor.major.name,
    }


def service_list() -> list[dict]:
    with translation.override(LANGUAGE):
        return [service_dict(m) for m in offered_services()]


def changeset() -> str:
    """When the service list last changed (the active catalogue's latest edit), for discovery."""
    catalog = Catalog.objects.filter(active=True).first()
    if catalog is None:
        return ""
    stamps = [
        catalog.updated_at,
        MajorClass.objects.filter(catalog=catalog).aggregate(m=Max("updated_at"))["m"],
        MinorClass.objects.filter(major__catalog=catalog).aggregate(m=Max("updated_at"))["m"],
    ]
    return local_iso(max(s for s in stamps if s is not None))


def service_notice(minor: MinorClass) -> str:
    """What the reporter can expect: verification on site, then the class's handling time limit."""
    with translation.override(LANGUAGE):
        notice = "公众上报的问题由监督员现场核实后立案派遣"
        limit = minor.limit(Stage.HANDLE)
        if limit is not None:
            notice += f"；“{minor.name}”立案派遣后的处置时限为 {limit.amount.normalize():f} {limit.get_unit_display()}"
        return notice + "。"


# --- requests ------------------------------------------------------------------------------------


def public_requests() -> QuerySet:
    """Every case this interface publishes, with what the allow-list needs."""
    return (
        Case.objects.filter(source__in=public_sources())
        .select_related(
            "minor_class__major", "lead_department", "duplicate_of__lead_department", "duplicate_of"
        )
        .prefetch_related("minor_class__limits")
    )


def status_q(statuses: set[str]) -> Q:
    """Cases whose public status (a duplicate: its original's) is in `statuses` (open/closed)."""
    db_statuses = set()
    if "open" in statuses:
        db_statuses |= OPEN_STATUSES
    if "closed" in statuses:
        db_statuses |= CLOSED_STATUSES
    return Q(duplicate_of__isnull=True, status__in=db_statuses) | Q(
        duplicate_of__isnull=False, duplicate_of__status__in=db_statuses
    )


_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
# A landline: the area code (0 and 2–3 digits, in brackets or not, with - or a space or nothing)
# kept, the 7–8 digit number but its last four masked: (0731)****2345, 0731-****2345.
_LANDLINE = re.compile(r"(?<![\dA-Za-z])(\(0[1-9]\d{1,2}\)\s?|0[1-9]\d{1,2}[- ]?)[2-9]\d{2,3}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d)\d{15}(\d[\dXx])(?![0-9A-Za-z])")
_ID_NUMBER_15 = re.compile(r"(?<![0-9A-Za-z])(\d)\d{12}(\d{2})(?![0-9A-Za-z])")  # the first form (1985–2004)
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def mask(text: str | None, case: Case | None = None) -> str | None:
    """Free text for publication: the reporter's own name and phone removed, then any mobile number,
    landline, identity number or e-mail address masked, and characters XML cannot carry dropped."""
    if not text:
        return None
    if case is not None:
        for own in (case.reporter_name, case.reporter_phone):
            own = (own or "").strip()
            if len(own) >= 2:
                text = text.replace(own, "***")
    text = _MOBILE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1****\2", text)
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 15 + m.group(2), text)
    text = _ID_NUMBER_15.sub(lambda m: m.group(1) + "*" * 12 + m.group(2), text)
    text = _EMAIL.sub(r"***@\1", text)
    return clean_text(text).strip() or None


REASONED = {CaseStatus.REJECTED: CaseAction.REJECT, CaseStatus.VOIDED: CaseAction.VOID}


def _reject_reasons(views: list[Case]) -> dict[int, str]:
    """The reason of the rejection (不予立案) or voiding (作废) that ended each of these cases."""
    ids = [v.pk for v in views if v.status in REASONED]
    reasons: dict[int, str] = {}
    if ids:
        events = CaseEvent.objects.filter(case_id__in=ids, action__in=REASONED.values()).order_by("at", "id")
        for event in events.only("case_id", "note"):
            reasons[event.case_id] = event.note  # the latest wins
    return reasons


def _status_notes(case: Case, view: Case, reasons: dict[int, str]) -> str:
    label = str(CaseStatus(view.status).label)
    if view.status in REASONED:
        reason = reasons.get(view.pk, "")
        note = f"{label}：{reason}" if reason else label
    elif view.status == CaseStatus.SUSPENDED and view.planned_fix_date:
        note = f"{label}（计划整改日期 {view.planned_fix_date:%Y-%m-%d}）"
    else:
        note = label
    if view.pk != case.pk:
        note = f"与案件 {view.number} 重复，随该案件办理：{note}"
    return note


def _expected(view: Case) -> dt.datetime | None:
    if view.status in CLOSED_STATUSES:
        return None
    if view.status == CaseStatus.SUSPENDED and view.planned_fix_date:
        end_of_day = dt.datetime.combine(view.planned_fix_date, dt.time(23, 59, 59))
        return timezone.make_aware(end_of_day)
    return view.stage_deadline


def _public_description(case: Case) -> str | None:
    text, _mark, _media = (case.description or "").partition(MEDIA_MARK)
    return mask(text, case)


def request_dicts(cases: list[Case]) -> list[dict]:
    """The allow-list: these fields, and nothing else, leave the building."""
    views = {c.pk: public_view(c) for c in cases}
    reasons = _reject_reasons(list(views.values()))
    out = []
    with translation.override(LANGUAGE):
        for case in cases:
            view = views[case.pk]
            closed = view.status in CLOSED_STATUSES
            if closed:
                updated = view.closed_at or view.updated_at
            else:
                updated = max(case.updated_at, view.updated_at)
            out.append(
                {
                    "service_request_id": case.number,
                    "status": "closed" if closed else "open",
                    "status_notes": mask(_status_notes(case, view, reasons), case),
                    "service_name": case.minor_class.name,
                    "service_code": service_code(case.minor_class),
                    "description": _public_description(case),
                    "agency_responsible": view.lead_department.name if view.lead_department_id else None,
                    "service_notice": service_notice(case.minor_class),
                    "requested_datetime": local_iso(case.created_at),
                    "updated_datetime": local_iso(updated),
                    "expected_datetime": local_iso(_expected(view)),
                    "address": mask(case.address, case),
                    "lat": round(case.lat, 6),
                    "long": round(case.lon, 6),
                }
            )
    return out
