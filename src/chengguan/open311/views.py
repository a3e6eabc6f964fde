"""Open311 GeoReport v2 endpoints: plain Django views, each in `.xml` and `.json`.

Errors follow the spec: HTTP 404 for what does not exist, 403 for a missing, invalid or revoked
`api_key`, 400 for anything else that cannot be fulfilled, each with the body
`[{code, description}]` / `<errors><error>…</error></errors>`; nothing is written when a request
fails. Every input is validated here, before any service is called; every view is CSRF exempt (no
view reads a session: POST is authenticated by its `api_key`). See `selectors` for what is published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from chengguan.cases import services as case_services
from chengguan.cases.choices import CaseSource
from chengguan.cases.photos import PhotoError
from chengguan.core import context, geo
from chengguan.core.errors import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS, ServiceError
from chengguan.web import ratelimit

from . import selectors
from .keys import key_authenticate
from .models import Open311Submission
from .render import FORMATS, errors, respond

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_DESCRIPTION = 4000
MAX_NAME = 50
MAX_ADDRESS = 255
MAX_MEDIA_URL = 1000
MAX_RESULTS = 1000
MAX_IDS = 1000
MAX_SPAN = dt.timedelta(days=90)
NUMBER = re.compile(r"^\d{1,20}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{2,18}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM = "application/x-www-form-urlencoded"


class Refused(Exception):
    """One or more errors for the client: the HTTP status and the descriptions (中文 · English)."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions


def _bad(*descriptions: str) -> Refused:
    return Refused(400, *descriptions)


def endpoint(*methods: str):
    """Checks the format suffix and the method, and turns every refusal into the spec's error list."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, fmt: str, **kwargs):
            if fmt not in FORMATS:
                return errors(
                    "xml", 404, f"未知格式 .{fmt}：可用 .xml 或 .json · unknown format, use .xml or .json"
                )
            if request.method not in allowed:
                return errors(
                    fmt,
                    405,
                    f"不支持 {request.method} 方法 · method not allowed",
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
            try:
                scope = "open311_write" if request.method == "POST" else "open311_read"
                if not ratelimit.allow(request, scope):  # counted in the database's cache table
                    return errors(
                        fmt,
                        429,
                        "请求过于频繁，请稍后再试 · too many requests, try again later",
                        headers={"Retry-After": str(ratelimit.retry_after(scope))},
                    )
                with translation.override(selectors.LANGUAGE):
                    return view(request, *args, fmt=fmt, **kwargs)
            except (OperationalError, InterfaceError):
                # The database is out of reach for the moment; whatever was written rolled back.
                return errors(
                    fmt,
                    503,
                    DATABASE_UNAVAILABLE_MESSAGE,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            except Refused as exc:
                return errors(fmt, exc.status, *exc.descriptions)
            except ServiceError as exc:
                return errors(fmt, 400, exc.message)
            except PhotoError as exc:
                return errors(fmt, 400, exc.message)
            except PermissionDenied:
                return errors(fmt, 403, "无权执行此操作 · not allowed")
            except Http404:
                return errors(fmt, 404, "未找到 · not found")
            except (RequestDataTooBig, TooManyFieldsSent):
                return errors(fmt, 400, "请求内容过大 · the request is too large")
            except ValueError:
                return errors(fmt, 400, "请求参数无法解析 · the request could not be parsed")

        return wrapper

    return decorate


def _param(query, name: str) -> str:
    """An optional argument: empty counts as absent (the spec's rule)."""
    return (query.get(name) or "").strip()


def _param_list(query, name: str) -> list[str]:
    """A comma-delimited argument, possibly declared several times."""
    return [v.strip() for value in query.getlist(name) for v in value.split(",") if v.strip()]


# --- discovery and services ------------------------------------------------------------------------


@endpoint("GET")
def discovery(request, fmt):
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "xml"}))
    changeset = selectors.changeset()
    data = {
        "changeset": changeset,
        "contact": getattr(
            settings,
            "OPEN311_CONTACT",
            "城市管理监督指挥中心 · city management supervision and command centre",
        ),
        "key_service": getattr(
            settings,
            "OPEN311_KEY_SERVICE",
            "接入系统的 api_key 由本平台安全管理员签发，请向城市管理监督指挥中心申请 · "
            "api_keys are issued by the platform's security administrator: ask the command centre",
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base.removesuffix("discovery.xml").rstrip("/"),
                "changeset": changeset,
                "type": getattr(
                    settings, "OPEN311_ENDPOINT_TYPE", "test" if settings.DEBUG else "production"
                ),
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", data)


@endpoint("GET")
def service_list(request, fmt):
    return respond(fmt, "services", selectors.service_list())


@endpoint("GET")
def service_definition(request, code, fmt):
    """Every service has metadata=false: a known code gets its definition with no attributes (the
    spec keeps 404 for a service_code that does not exist)."""
    minor = selectors.find_service(code)
    if minor is None:
        raise Refused(404, f"未知的 service_code：{code[:40]} · service_code not found")
    return respond(
        fmt, "service_definition", {"service_code": selectors.service_code(minor), "attributes": []}
    )


@endpoint("GET")
def token(request, token, fmt):
    raise Refused(
        404,
        "本接口上报后直接返回 service_request_id，不签发 token · "
        "this server returns the service_request_id at once and issues no tokens",
    )


# --- service requests ------------------------------------------------------------------------------


@endpoint("GET", "POST")
def requests(request, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    return respond(fmt, "service_requests", selectors.request_dicts(_query(request.GET)))


@endpoint("GET")
def request_detail(request, number, fmt):
    case = selectors.public_requests().filter(number=number).first() if NUMBER.match(number) else None
    if case is None:
        raise Refused(404, f"未找到服务请求 {number[:40]} · service request not found")
    return respond(fmt, "service_requests", selectors.request_dicts([case]))


@csrf_exempt
def not_found(request, path=""):
    fmt = "json" if path.endswith(".json") else "xml"
    return errors(fmt, 404, "未知的接口地址 · no such endpoint (see discovery.xml)")


def _query(query) -> list:
    qs = selectors.public_requests()
    ids = _param_list(query, "service_request_id")
    if ids:  # overrides every other argument
        bad = [i for i in ids if not NUMBER.match(i)]
        if bad:
            raise _bad(f"service_request_id 应为案件编号（数字）：{', '.join(bad[:5])[:100]} · bad id")
        if len(ids) > MAX_IDS:
            raise _bad(f"service_request_id 最多 {MAX_IDS} 个 · at most {MAX_IDS} ids")
        found = {c.number: c for c in qs.filter(number__in=ids)}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    problems = []
    codes = [c.upper() for c in _param_list(query, "service_code")]
    bad = [c for c in codes if not selectors.SERVICE_CODE.match(c)]
    if bad:
        problems.append(
            f"service_code 格式不正确：{', '.join(bad[:5])[:100]} · bad service_code (e.g. E0102)"
        )
    statuses = {s.lower() for s in _param_list(query, "status")}
    if statuses - {"open", "closed"}:
        problems.append("status 应为 open 或 closed · status must be open or closed")
    try:
        start, end = _date_range(_param(query, "start_date"), _param(query, "end_date"))
    except Refused as exc:
        problems.extend(exc.descriptions)
        start = end = None
    try:
        page = _positive(_param(query, "page"), "page", 1)
        page_size = _positive(_param(query, "page_size"), "page_size", MAX_RESULTS)
        if page_size > MAX_RESULTS:
            raise _bad(f"page_size 最大 {MAX_RESULTS} · page_size is at most {MAX_RESULTS}")
    except Refused as exc:
        problems.extend(exc.descriptions)
        page = page_size = None
    if problems:
        raise _bad(*problems)

    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    if codes:
        wanted = [selectors.SERVICE_CODE.match(c).groups() for c in codes]
        cond = None
        for letter, major, minor in wanted:
            q = Q(
                minor_class__major__kind=selectors.LETTER_KIND[letter],
                minor_class__major__code=major,
                minor_class__code=minor,
            )
            cond = q if cond is None else cond | q
        qs = qs.filter(cond)
    if statuses:
        qs = qs.filter(selectors.status_q(statuses))
    offset = (page - 1) * page_size
    return list(qs.order_by("-created_at", "-id")[offset : offset + page_size])


def _positive(value: str, name: str, default: int) -> int:
    if not value:
        return default
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise _bad(f"{name} 应为正整数 · {name} must be a positive whole number")
    return int(value)


def _when(value: str, name: str) -> dt.datetime | None:
    """A W3C date or date-time; a '+' that a query string turned into a space is put back; a time
    without an offset is local time."""
    if not value:
        return None
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            when = dt.datetime.combine(dt.date.fromisoformat(text), dt.time.min)
        elif "T" in text:
            when = dt.datetime.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise _bad(
            f"{name} 应为 W3C 日期时间，如 2026-10-08T10:00:00+08:00 · {name} must be a W3C date-time"
        ) from None
    return timezone.make_aware(when) if timezone.is_naive(when) else when


def _date_range(start_text: str, end_text: str) -> tuple[dt.datetime, dt.datetime]:
    problems = []
    try:
        start = _when(start_text, "start_date")
    except Refused as exc:
        problems.extend(exc.descriptions)
        start = None
    try:
        end = _when(end_text, "end_date")
    except Refused as exc:
        problems.extend(exc.descriptions)
        end = None
    if problems:
        raise _bad(*problems)
    if start is None and end is None:
        end = timezone.now()
        start = end - MAX_SPAN
    elif start is None:
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise _bad("end_date 不能早于 start_date · end_date is before start_date")
    if end - start > MAX_SPAN:
        raise _bad("start_date 与 end_date 相隔不能超过 90 天 · the range may not span more than 90 days")
    return start, end


# --- POST a service request ------------------------------------------------------------------------


def _text(form, name: str, limit: int, problems: list[str]) -> str:
    value = _param(form, name)
    if len(value) > limit:
        problems.append(f"{name} 不能超过 {limit} 字（现有 {len(value)} 字）· {name} is too long")
    elif CONTROL.search(value):
        problems.append(f"{name} 含有控制字符 · {name} contains control characters")
    return value


def _location(form, problems: list[str]) -> tuple[float, float, str] | None:
    lat_text, long_text = _param(form, "lat"), _param(form, "long")
    if not lat_text or not long_text:
        if _param(form, "address_string") or _param(form, "address_id"):
            problems.append(
                "请提供 lat 和 long（WGS-84）：本接口不能仅凭 address_string 或 address_id 定位 · "
                "lat and long are required: address_string or address_id alone cannot be located here"
            )
        else:
            problems.append("缺少位置：请提供 lat 和 long（WGS-84）· a location is required: lat and long")
        return None
    try:
        lat, lon = float(lat_text), float(long_text)
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError
    except ValueError:
        problems.append("lat 和 long 应为十进制度数 · lat and long must be decimal degrees")
        return None
    try:
        geo.check_lonlat(lon, lat)
        crs = geo.normalise_crs(_param(form, "crs") or geo.WGS84)
    except geo.CRSError as exc:
        problems.append(str(exc))
        return None
    return lat, lon, crs


def _media_url(form, problems: list[str]) -> str:
    url = _param(form, "media_url")
    if not url:
        return ""
    parts = urlsplit(url) if len(url) <= MAX_MEDIA_URL else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", url):
        problems.append(
            f"media_url 应为 http(s) 地址，不超过 {MAX_MEDIA_URL} 字符 · media_url must be an http(s) URL"
        )
        return ""
    return url


def _reporter_name(first: str, last: str) -> str:
    if any(ord(ch) > 0x2E7F for ch in first + last):  # Chinese style: family name first, no space
        return f"{last}{first}"
    return f"{first} {last}".strip()


def _create(request, fmt):
    if request.content_type != FORM:
        raise _bad(f"请以 {FORM} 提交 · POST the request as {FORM}")
    form = request.POST
    api_key = _param(form, "api_key")
    if not api_key:
        raise Refused(403, "缺少 api_key · api_key is missing")
    key = key_authenticate(api_key)
    if key is None:
        raise Refused(403, "api_key 无效或已撤销 · invalid or revoked api_key")
    context.set_actor(dataclasses.replace(context.current(), via=f"open311:{key.prefix}"))

    code = _param(form, "service_code")
    if not code:
        raise _bad("缺少 service_code · service_code is required")
    minor = selectors.find_service(code)
    if minor is None:
        raise Refused(404, f"未知或不受理的 service_code：{code[:40]} · service_code not found")

    problems: list[str] = []
    location = _location(form, problems)
    description = _text(form, "description", MAX_DESCRIPTION, problems)
    media_url = _media_url(form, problems)
    address = _text(form, "address_string", MAX_ADDRESS, problems)
    first = _text(form, "first_name", MAX_NAME, problems)
    last = _text(form, "last_name", MAX_NAME, problems)
    name = _reporter_name(first, last)
    if len(name) > MAX_NAME:
        problems.append(f"姓名不能超过 {MAX_NAME} 字 · first_name and last_name are too long together")
    phone = _param(form, "phone")
    if phone and not PHONE.match(phone):
        problems.append("phone 格式不正确 · phone must be digits (with + - ( ) or spaces), 20 at most")
    description = description or minor.name  # optional in the spec; the case needs one
    if media_url:  # kept for staff, never fetched, never published
        description += selectors.MEDIA_MARK + media_url
    if media_url and len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description 与 media_url 合计不能超过 {MAX_DESCRIPTION} 字 · description and media_url too long"
        )
    if problems:
        raise _bad(*problems)
    lat, lon, crs = location

    with transaction.atomic():
        case, _created = case_services.case_report(
            None,
            case_services.CaseInput(
                source=CaseSource.OPEN311,
                minor_class_id=minor.pk,
                description=description,
                lon=lon,
                lat=lat,
                crs=crs,
                address=address,
                reporter_name=name,
                reporter_phone=phone,
            ),
        )
        Open311Submission.objects.create(key=key, case=case)
    body = [
        {
            "service_request_id": case.number,
            "service_notice": selectors.service_notice(minor),
            "account_id": None,
        }
    ]
    return respond(fmt, "service_requests", body)
