"""Nothing personal leaves through the public surface: an anonymous crawler visits every page and
API answer of the demo city that needs no login and finds no identity-card number and no phone
number (mobile or landline) in any of them; masked forms (138****1234) are allowed.

The demo is built as `chengguan demo` builds it, in a process and an SQLite database of its own
(like tests/demo: the session city of the other tests would collide with it), a few days of
cases. Before crawling, citizens report through the public surfaces themselves, with their phone
and with a phone, a landline and an identity number typed into the description and address
(people do): the public report page and Open311. The database must then hold reporters' phones in
the clear behind its encryption (from the demo's own hotline and public reports too), so the crawl
can fail; and the detector must flag the numbers it is looking for (a negative control).

What is crawled is derived from the URL resolver: every route, its parameters filled with a sample
(the Open311 formats, service codes and request numbers with all of theirs), requested without a
login; every answer is scanned, whatever its status, and every same-site link in it (HTML, JSON,
XML, redirects) is followed. A new public route is crawled without changing this test. The public
forms are sent too: a case lookup with the right number and phone digits, and a wrong pair.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]

# --- the detector ---------------------------------------------------------------------------------

# Numbers are bounded by anything but an ASCII letter or digit (a phone next to Chinese text is
# still a phone; a digit run inside a token, a hash or a longer number is not); a decimal point
# before one is a coordinate's fraction.
_B = r"(?<![0-9A-Za-z.])"
_E = r"(?![0-9A-Za-z])"
_PROVINCES = r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])"
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
PATTERNS = {
    # 18 digits (the last may be X): area, a birth date from 1900 on, sequence, check character.
    "id_number": re.compile(_B + _PROVINCES + r"\d{4}(?:19|20)\d{2}" + _MONTH_DAY + r"\d{3}[\dXx]" + _E),
    # The first form, 15 digits: area, a two-digit year and the date, sequence.
    "id_number_15": re.compile(_B + _PROVINCES + r"\d{4}\d{2}" + _MONTH_DAY + r"\d{3}" + _E),
    # Mobile: 1[3-9] and nine digits, written whole or in groups (138 1234 5678, 138-1234-5678),
    # with or without +86.
    "mobile": re.compile(_B + r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _E),
    # Landline: an area code (0 and 2–3 digits) and a 7–8 digit number, (0731)84561234,
    # 0731-84561234, 010 12345678, or 073184561234 written whole.
    "landline": re.compile(
        _B + r"(?:\(0[1-9]\d{1,2}\)\s?|0[1-9]\d{1,2}[- ]|0[1-9]\d{1,2}(?=[2-9]\d{6,7}" + _E + r"))"
        r"[2-9]\d{6,7}" + _E
    ),
}


def personal_numbers(text: str, *, allowed: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(kind, match) for every identity or phone number in the text; `allowed` are public codes
    that happen to have the shape of one (a unit grid's 15-digit code, a case number)."""
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            if match.group(0) not in allowed:
                found.append((kind, match.group(0)))
    return found


def test_the_detector_flags_what_it_looks_for_and_not_the_masked_forms():
    for text, kind in [
        ("请联系 13812345678。", "mobile"),
        ("电话138-1234-5678", "mobile"),
        ("+86 139 0731 2345", "mobile"),
        ("身份证号430102198503121234", "id_number"),
        ("证件 43010219850312123X，", "id_number"),
        ("老身份证 430102850312123", "id_number_15"),
        ("座机 0731-84561234", "landline"),
        ("(010)62345678", "landline"),
        ('{"phone": "073184561234"}', "landline"),
    ]:
        assert kind in [k for k, _m in personal_numbers(text)], (text, kind)
    for text in [
        "138****1234",
        "****1234",
        "4301************34",
        "2026-03-12 08:30",
        '{"lat": 28.13812345678, "lon": 112.9}',
        "csrf a13812345678b",
        "案件编号 202603120001",
        "单元网格 43010200100101",
    ]:
        assert personal_numbers(text) == [], text
    grid_code = "430199001001001"  # a 15-digit grid code has the shape of a first-form identity number
    assert personal_numbers(grid_code) and not personal_numbers(grid_code, allowed=frozenset([grid_code]))


def test_open311_masks_every_number_the_crawl_looks_for():
    # What the crawl found Open311 publishing from a citizen's description and address: landlines
    # and first-form (15-digit) identity numbers were left as typed.
    from chengguan.open311.selectors import mask

    text = mask(
        "请回电 (0731)88812345、0731-84561234、073188812346 或 159 7310 0002，"
        "证件 430102850312123 / 430102198503121234"
    )
    assert personal_numbers(text) == [], text
    assert "(0731)****2345" in text and "0731-****1234" in text and "4************23" in text
    assert mask("案件 202603120001 于 2026-03-12 受理") == "案件 202603120001 于 2026-03-12 受理"


# --- the crawl (in the demo's own process) --------------------------------------------------------

REPORTER = {
    "name": "张晓明",
    "phone": "13973102468",
    "description": "小区门口垃圾堆放多日，联系电话 0731-84561234，身份证 430102198503121234",
    "address": "解放西路 18 号（物业 18673120000）",
}
OPEN311_REPORTER = {
    "first_name": "李",
    "last_name": "华",
    "phone": "15873100001",
    "description": "路灯不亮，请回电 (0731)88812345 或 159 7310 0002，老证件 430102850312123",
    "address_string": "五一大道 66 号，电话 073188812346",
}
MAX_REQUESTS = 4000


def _same_site_paths(text: str) -> set[str]:
    """Paths of same-site links in a page, JSON or XML: attributes, and any quoted string that is an
    absolute path or a URL of this site."""
    found = set()
    for raw in re.findall(r"""(?:href|src|action|data-[\w-]+)=["']([^"']+)["']""", text):
        found.add(raw)
    for raw in re.findall(r'"(/[^"\s<>]*)"', text):
        found.add(raw)
    for raw in re.findall(r"https?://(?:testserver|localhost|127\.0\.0\.1)(?::\d+)?(/[^\s\"'<>]*)", text):
        found.add(raw)
    paths = set()
    for raw in found:
        raw = raw.replace("&amp;", "&").replace("\\u0026", "&").split("#")[0]
        if raw.startswith("/") and not raw.startswith("//") and not raw.startswith("/static/"):
            paths.add(raw)
    return paths


def _route_samples(samples: dict[str, list[str]]):
    """Every route of the URL map, each parameter filled with its samples (one, "x", unless
    `samples` names more)."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.converters import IntConverter
    from django.urls.resolvers import RegexPattern, RoutePattern

    def fill(pattern, converters_default) -> list[str]:
        if isinstance(pattern, RoutePattern):
            route = str(pattern)
            names = re.findall(r"<(?:(\w+):)?(\w+)>", route)
            paths = [route]
            for converter, name in names:
                token = f"<{converter}:{name}>" if converter else f"<{name}>"
                conv = pattern.converters.get(name)
                values = samples.get(name) or (
                    samples["int"] if isinstance(conv, IntConverter) else converters_default
                )
                paths = [p.replace(token, str(v)) for p in paths for v in values]
            return paths
        assert isinstance(pattern, RegexPattern)
        regex = pattern._regex
        paths = [regex]
        for name in re.findall(r"\(\?P<(\w+)>", regex):
            values = samples.get(name, converters_default)
            group = re.compile(r"\(\?P<" + name + r">(?:[^()]|\([^()]*\))*\)")
            paths = [group.sub(lambda _m, v=v: str(v), p) for p in paths for v in values]
        return [p.lstrip("^").rstrip("$").replace("\\.", ".").replace("\\", "") for p in paths]

    def walk(resolver, prefixes=("",)):
        for entry in resolver.url_patterns:
            here = [a + b for a in prefixes for b in fill(entry.pattern, ["x"])]
            if isinstance(entry, URLResolver):
                yield from walk(entry, here)
            elif isinstance(entry, URLPattern):
                yield from here

    for path in walk(get_resolver()):
        yield "/" + path


def crawl_main(out_path: str) -> None:
    """Build the demo, report as citizens, crawl as nobody; write what was seen to `out_path`."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.conf import settings

    from chengguan.web import ratelimit

    # One crawler from one address reads more than a person would: the limits (tested in the
    # Open311 and page tests) are lifted, so every answer is the real one, not a 429.
    settings.PUBLIC_RATE_LIMITS = dict.fromkeys(ratelimit.DEFAULT_LIMITS, (10**6, 60))
    call_command("demo", "--no-serve", "--days", os.environ.get("CRAWL_DEMO_DAYS", "3"))

    from chengguan.cases.choices import CaseSource
    from chengguan.cases.models import Case
    from chengguan.grid.models import UnitGrid
    from chengguan.open311 import keys
    from chengguan.open311 import selectors as open311
    from chengguan.org.models import Region

    client = Client(HTTP_USER_AGENT="crawler", REMOTE_ADDR="198.51.100.7")
    seen: dict[str, int] = {}
    leaks: list[dict] = []
    allowed = frozenset(
        list(UnitGrid.objects.values_list("code", flat=True))
        + list(Region.objects.values_list("code", flat=True))
        + list(Case.objects.values_list("number", flat=True))
    )

    def scan(label: str, response) -> str:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", errors="replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        for kind, match in personal_numbers(headers + "\n" + text, allowed=allowed):
            leaks.append({"where": label, "status": response.status_code, "kind": kind, "match": match})
        return text

    # Citizens report, with their phone and numbers typed into the text.
    street_grid = UnitGrid.objects.order_by("code").first()
    from shapely.geometry import shape

    point = shape(street_grid.geometry).representative_point()
    page = client.get("/public/report/")
    scan("GET /public/report/", page)
    choices = []
    for value, label in page.context["form"].fields["minor_class"].choices:
        choices += [v for v, _l in label] if isinstance(label, list | tuple) else [value]
    minor = next(v for v in choices if v not in ("", None))
    response = client.post(
        "/public/report/",
        {
            "minor_class": minor,
            "lon": point.x,
            "lat": point.y,
            "crs": "wgs84",
            "address": REPORTER["address"],
            "description": REPORTER["description"],
            "reporter_name": REPORTER["name"],
            "reporter_phone": REPORTER["phone"],
            "submit_key": "crawl-0001",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    scan("POST /public/report/", response)
    public_number = Case.objects.filter(source=CaseSource.PUBLIC).latest("created_at").number

    _key, api_key = keys.key_create("crawler")
    code = open311.service_list()[0]["service_code"]
    form = {"api_key": api_key, "service_code": code, "lat": point.y, "long": point.x, **OPEN311_REPORTER}
    response = client.post(
        "/open311/v2/requests.json", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content[:2000]
    scan("POST /open311/v2/requests.json", response)

    # The numbers the pages could leak are in the database, in the clear behind the encryption.
    phones = {
        (source, phone)
        for source, phone in Case.objects.exclude(reporter_phone="").values_list("source", "reporter_phone")
    }
    demo_phones = [
        p for s, p in phones if s in (CaseSource.HOTLINE, CaseSource.PUBLIC) and p != REPORTER["phone"]
    ]

    # Every route, then every same-site link.
    samples = {
        "fmt": ["json", "xml"],
        "code": [s["service_code"] for s in open311.service_list()],
        "number": list(open311.public_requests().values_list("number", flat=True)),
        "int": [Case.objects.filter(source=CaseSource.PUBLIC).order_by("pk").first().pk],
    }
    queue = list(dict.fromkeys(_route_samples(samples)))
    queue += [
        "/open311/v2/requests.json?status=open",
        "/open311/v2/requests.xml?status=closed",
        f"/open311/v2/requests.json?service_request_id={public_number}",
        "/public/cases.geojson?status=open",
        "/public/cases.geojson?status=closed",
        "/public/boundaries.geojson?level=district",
        f"/public/lookup/?number={public_number}",
    ]
    routes = len(queue)
    public = []
    while queue and len(seen) < MAX_REQUESTS:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        text = scan(f"GET {path}", response)
        if response.status_code == 200:
            public.append(path)
        if 300 <= response.status_code < 400:
            location = response.get("Location", "")
            queue += [p for p in _same_site_paths(f'"{location}"') if p not in seen]
        queue += [p for p in sorted(_same_site_paths(text)) if p not in seen]

    # The public forms: a lookup with the right pair (the reporter's view of the case) and a wrong one.
    for number, last4 in [(public_number, REPORTER["phone"][-4:]), (public_number, "1357")]:
        response = client.post("/public/lookup/", {"number": number, "phone_last4": last4})
        seen[f"POST /public/lookup/ {last4}"] = response.status_code
        scan(f"POST /public/lookup/ ({number}, {last4})", response)
    demo_case = (
        Case.objects.filter(source=CaseSource.HOTLINE).exclude(reporter_phone="").order_by("pk").first()
    )
    if demo_case is not None:
        response = client.post(
            "/public/lookup/", {"number": demo_case.number, "phone_last4": demo_case.reporter_phone[-4:]}
        )
        seen["POST /public/lookup/ demo"] = response.status_code
        scan(f"POST /public/lookup/ ({demo_case.number})", response)

    Path(out_path).write_text(
        json.dumps(
            {
                "routes": routes,
                "seen": seen,
                "public": public,
                "leaks": leaks,
                "phones": len(phones),
                "demo_phones": demo_phones[:3],
                "reporter_phone_stored": any(p == REPORTER["phone"] for _s, p in phones),
                "lookup_found": seen.get(f"POST /public/lookup/ {REPORTER['phone'][-4:]}"),
                "lookup_wrong": seen.get("POST /public/lookup/ 1357"),
                "lookup_demo": seen.get("POST /public/lookup/ demo"),
            },
            ensure_ascii=False,
        )
    )


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the demo is the embedded SQLite city; the SQLite pass of the suite runs it",
)
def test_no_public_page_or_answer_carries_an_identity_or_phone_number(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(CHENGGUAN_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="chengguan.settings")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = tmp_path / "crawl.json"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from tests.security.test_public_crawl import crawl_main; crawl_main({str(out)!r})",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    result = json.loads(out.read_text())

    # The crawl could fail: reporters' phones are there to leak, the demo's own among them.
    assert result["reporter_phone_stored"] and result["phones"] >= 3
    assert result["demo_phones"] and all(PATTERNS["mobile"].fullmatch(p) for p in result["demo_phones"])
    # It reached the public surface: the entry pages, Open311 in both formats, every request.
    public = set(result["public"])
    for path in [
        "/public/report/",
        "/public/lookup/",
        "/public/map/",
        "/public/cases.geojson",
        "/public/boundaries.geojson",
        "/open311/v2/discovery.json",
        "/open311/v2/discovery.xml",
        "/open311/v2/services.json",
        "/open311/v2/services.xml",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/login/",
    ]:
        assert path in public, (path, result["seen"].get(path))
    assert any(re.match(r"^/open311/v2/requests/\d+\.xml$", p) for p in public)
    assert any(re.match(r"^/open311/v2/services/[^/]+\.json$", p) for p in public)
    assert (result["lookup_found"], result["lookup_wrong"], result["lookup_demo"]) == (200, 404, 200)
    # ...and whatever answers without a login (the staff's pages send it to the login page).
    assert not any(p.startswith(("/desk/", "/command/", "/ledger/", "/api/v1/cases")) for p in public)

    leaks = {(leak["kind"], leak["match"]): leak["where"] for leak in result["leaks"]}
    assert not leaks, "\n".join(f"{kind} {match} in {where}" for (kind, match), where in leaks.items())
