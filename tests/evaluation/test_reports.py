"""The monthly evaluation report (Excel, PDF) and the rankings page agree: a test reads all three
back — the page's HTML, the workbook with openpyxl, the PDF's text with pypdf — and compares every
object's rank, score, grade and every indicator, live and once the month is published."""

from __future__ import annotations

import io
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from chengguan.cases.choices import CaseSource
from chengguan.evaluation import reports, services
from chengguan.evaluation.choices import ObjectType
from chengguan.evaluation.indicators import INDICATORS
from chengguan.evaluation.periods import parse_period

from .conftest import at
from .test_snapshots import STEPS

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")
PAGE = "/evaluation/"


@pytest.fixture
def month(city, people, drive):
    """March in street A: an inspector's case closed on time, one closed late at every stage, and
    a public report registered and dispatched but never handled (open and overdue at month end)."""
    services.load_scoring()
    on_time = drive.through(drive.report(at(2026, 3, 3, 9, 0)), STEPS)
    late = drive.through(
        drive.report(at(2026, 3, 3, 9, 0)),
        [("late" if w == "deadline" and a != "sign" else w, a, *r) for w, a, *r in STEPS],
    )
    public = drive.through(
        drive.report(at(2026, 3, 10, 9, 0), source="public"),
        [
            (at(2026, 3, 10, 9, 5), "accept"),
            (at(2026, 3, 10, 9, 30), "verify"),
            (at(2026, 3, 10, 10, 0), "register"),
            (at(2026, 3, 10, 10, 30), "dispatch"),
        ],
    )
    drive.clock.move_to(at(2026, 4, 2, 9, 0))
    services.fold_events()
    return on_time, late, public


# --- reading the three back -----------------------------------------------------------------------


class RankingTable(HTMLParser):
    """The rows of the page's ranking table: {object id: {"rank", "name", "score", "grade",
    indicator code: (text, numerator, denominator)}}, and the data source it declares."""

    def __init__(self):
        super().__init__()
        self.rows: dict[int, dict] = {}
        self.source = None
        self._row = None
        self._cell = None
        self._text: list[str] = []
        self._in_small = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "ranking" in (a.get("class") or ""):
            self.source = a.get("data-source")
        elif tag == "tr" and "data-object" in a:
            self._row = self.rows.setdefault(int(a["data-object"]), {})
        elif tag == "td" and self._row is not None:
            self._cell = a
            self._text = []
        elif tag == "small" and self._cell is not None:
            self._in_small = True

    def handle_endtag(self, tag):
        if tag == "small":
            self._in_small = False
        elif tag == "td" and self._cell is not None:
            text = "".join(self._text).strip()
            if "data-ind" in self._cell:
                den = self._cell["data-den"]
                self._row[self._cell["data-ind"]] = (
                    text,
                    int(self._cell["data-num"]),
                    int(den) if den else None,
                )
            else:
                self._row[self._cell["data-col"]] = text
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None and not self._in_small:
            self._text.append(data)


def page_rows(client, object_type):
    r = client.get(PAGE, {"period": MARCH.key, "type": object_type})
    assert r.status_code == 200, r.content[:500]
    table = RankingTable()
    table.feed(r.content.decode())
    return table


def pct(value) -> str:
    if value is None:
        return reports.DASH
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def xlsx_rows(workbook, object_type):
    """{name: {"rank", "score", "grade", code: (text, numerator, denominator)}} from the type's sheet."""
    sheet = workbook[str(ObjectType(object_type).label).replace("/", "-")]
    values = list(sheet.iter_rows(values_only=True))
    headers = values[2]
    out = {}
    for row in values[3:]:
        cells = dict(zip(headers, row, strict=True))
        entry = {
            "rank": reports.DASH if row[0] is None else str(row[0]),
            "score": reports.DASH if row[2] is None else f"{Decimal(str(row[2])):.2f}",
            "grade": row[3] or reports.DASH,
        }
        for ind in INDICATORS[object_type]:
            label = str(ind.label)
            if ind.is_rate:
                value = cells[label]
                num, den = cells[f"{label}·分子"], cells[f"{label}·分母"]
                # The stored value is the exact fraction (to 6 places) of its numerator and denominator.
                if den:
                    assert abs(float(value) - num / den) < 1e-6
                entry[ind.code] = (pct(value), num, den)
            else:
                entry[ind.code] = (str(cells[label]), cells[label], None)
        out[row[1]] = entry
    return out


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def pdf_row(row: dict, object_type: str) -> str:
    """How the row reads in the PDF's text: rank, name, score, grade, then each figure with its
    numerator/denominator."""
    cells = [row["rank"], row["name"], row["score"], row["grade"]]
    for ind in INDICATORS[object_type]:
        text, num, den = row[ind.code]
        cells.append(text if den is None else f"{text} ({num}/{den})")
    return " ".join(cells)


# --- the must-show ----------------------------------------------------------------------------------


@pytest.mark.parametrize("published", [False, True], ids=["live", "published"])
def test_the_page_the_excel_and_the_pdf_agree(city, people, client_for, month, published):
    leader = client_for(people["leader"])
    if published:
        services.publish_period(MARCH, actor=people["leader"])
    xlsx = leader.get("/evaluation/report.xlsx", {"period": MARCH.key})
    assert xlsx.status_code == 200 and xlsx["Content-Type"] == reports.XLSX_CONTENT_TYPE
    workbook = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    pdf = leader.get("/evaluation/report.pdf", {"period": MARCH.key})
    assert pdf.status_code == 200 and pdf["Content-Type"] == reports.PDF_CONTENT_TYPE
    text = pdf_text(b"".join(pdf.streaming_content))
    assert "城市管理综合评价报告 2026年3月" in text

    compared = 0
    for object_type in reports.TYPE_ORDER:
        table = page_rows(leader, object_type)
        assert table.source == ("published" if published else "live")
        assert table.rows, object_type
        sheet = xlsx_rows(workbook, object_type)
        assert len(sheet) == len(table.rows), object_type
        for row in table.rows.values():
            in_sheet = sheet[row["name"]]
            for key in ("rank", "score", "grade"):
                assert in_sheet[key] == row[key], (object_type, row["name"], key)
            for ind in INDICATORS[object_type]:
                assert in_sheet[ind.code] == row[ind.code], (object_type, row["name"], ind.code)
                compared += 1
            assert pdf_row(row, object_type) in text, (object_type, pdf_row(row, object_type))
    assert compared > 100

    # The figures are the month's: street A's on the page as the cases make them.
    street_a = page_rows(leader, "street").rows[city.street_a.pk]
    assert street_a["registered"] == ("3", 3, None)
    assert street_a["close_rate"] == ("66.67%", 2, 3)  # two closed, one open and overdue at month end
    assert street_a["close_on_time_rate"] == ("33.33%", 1, 3)
    source = "已发布 第 1 版" if published else "实时数据"
    assert source in text
    assert any(source in str(c) for row in workbook["概况"].iter_rows(values_only=True) for c in row if c)


def test_the_overview_in_the_form_of_the_monthly_report(city, people, client_for, month):
    """受理, 立案, 应结案, 结案 (rate), 按期结案 (rate): the total is the district's figures on the
    page; by source and by 事件/部件 they add up to it."""
    leader = client_for(people["leader"])
    district = page_rows(leader, "district").rows[city.district.pk]
    data = leader.get("/evaluation/report.xlsx", {"period": MARCH.key})
    sheet = load_workbook(io.BytesIO(b"".join(data.streaming_content)))["概况"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows.index(("分类", "受理", "立案", "应结案", "结案", "结案率", "按期结案", "按期结案率"))
    table = {r[0]: r[1:] for r in rows[header + 1 :] if r and r[0] and r[1] is not None}
    total = table["合计"]
    _text, closed, due = district["close_rate"]
    assert total[:5] == (3, district["registered"][1], due, closed, pytest.approx(closed / due))
    assert total[5] == district["close_on_time_rate"][1]
    inspector, public = table[str(CaseSource.INSPECTOR.label)], table[str(CaseSource.PUBLIC.label)]
    assert inspector[:5] == (2, 2, 2, 2, 1) and public[:5] == (1, 1, 1, 0, 0)
    events = table["事件"]
    components = table["部件"]
    for i in range(4):
        assert inspector[i] + public[i] == total[i] == events[i] + components[i]
    text = pdf_text(b"".join(leader.get("/evaluation/report.pdf", {"period": MARCH.key}).streaming_content))
    assert f"合计 3 3 3 2 {pct(Decimal(2) / 3)} 1 {pct(Decimal(1) / 3)}" in text


def test_a_shift_leader_gets_the_report_of_their_street_only(city, people, client_for, month):
    mine = client_for(people["shiftlead_a"]).get("/evaluation/report.xlsx", {"period": MARCH.key})
    workbook = load_workbook(io.BytesIO(b"".join(mine.streaming_content)))
    assert "区/县" not in workbook.sheetnames  # the district is above street A
    assert set(xlsx_rows(workbook, "street")) == {city.street_a.name}
    other = client_for(people["shiftlead_b"]).get("/evaluation/report.xlsx", {"period": MARCH.key})
    workbook_b = load_workbook(io.BytesIO(b"".join(other.streaming_content)))
    assert set(xlsx_rows(workbook_b, "street")) == {city.street_b.name}
    overview = {r[0]: r for r in workbook_b["概况"].iter_rows(values_only=True) if r and r[0]}
    assert overview["合计"][1:5] == (0, 0, 0, 0)  # none of street A's cases
    pdf = client_for(people["shiftlead_b"]).get("/evaluation/report.pdf", {"period": MARCH.key})
    assert city.street_a.name not in pdf_text(b"".join(pdf.streaming_content))


def test_who_may_download_and_a_bad_period(people, client_for, month):
    for persona in ("inspector_a", "handler_a", "dispatcher_a", "outsider"):
        r = client_for(people[persona]).get("/evaluation/report.pdf", {"period": MARCH.key})
        assert r.status_code == 404, persona
    r = client_for(people["leader"]).get("/evaluation/report.xlsx", {"period": "2026-13"})
    assert r.status_code == 400
    assert "期间格式应为" in r.content.decode()


def overview_table(client) -> dict[str, tuple]:
    data = client.get("/evaluation/report.xlsx", {"period": MARCH.key})
    rows = list(
        load_workbook(io.BytesIO(b"".join(data.streaming_content)))["概况"].iter_rows(values_only=True)
    )
    return {r[0]: r[1:] for r in rows if r and r[0] and len(r) > 1 and r[1] is not None}


def test_a_published_months_splits_never_move(city, people, client_for, month):
    """The splits by source and by 事件/部件 are kept with the snapshot: a case reclassified after
    publication stays where it was counted; a snapshot from before they were kept says so."""
    from django.db import connection

    from chengguan.cases.models import Case
    from chengguan.evaluation.models import SnapshotCase

    services.publish_period(MARCH, actor=people["leader"])
    leader = client_for(people["leader"])
    published = overview_table(leader)
    assert published[str(CaseSource.PUBLIC.label)][:5] == (1, 1, 1, 0, 0)
    assert SnapshotCase.objects.count() == 3
    Case.objects.filter(source=CaseSource.PUBLIC).update(source=CaseSource.HOTLINE)  # reclassified later
    assert overview_table(leader) == published
    assert overview_table(client_for(people["shiftlead_b"]))["合计"][:4] == (0, 0, 0, 0)
    # A snapshot published before the per-case rows existed: recounted from today's rows, and said.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SnapshotCase._meta.db_table}")
    recounted = overview_table(leader)
    assert str(CaseSource.HOTLINE.label) in recounted and str(CaseSource.PUBLIC.label) not in recounted
    assert any("按当前案件数据统计" in str(v) for row in recounted.values() for v in row if v)
