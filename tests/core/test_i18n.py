"""The English catalogue: complete, compiled, used by the code and the admin, and kept in step with the
Chinese source strings.

Regenerate and recompile after changing a translatable string (see README):

    cd src/chengguan
    ../../.venv/bin/chengguan makemessages -l en --no-obsolete --extension html,py --ignore 'demo/*'
    # fill in the new msgstr entries of locale/en/LC_MESSAGES/django.po, then
    ../../.venv/bin/chengguan compilemessages -l en
"""

from __future__ import annotations

import ast
import gettext as stdlib_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

import chengguan

SOURCE_DIR = Path(chengguan.__file__).resolve().parent
CATALOGUE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_FILE = CATALOGUE_DIR / "django.po"
MO_FILE = CATALOGUE_DIR / "django.mo"

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
IGNORED_DIRS = {"demo"}  # as makemessages --ignore 'demo/*': demo data, not UI
GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy"}
# {% translate "…" %} / {% trans '…' %} and _("…") in template filter arguments; string literals only.
TEMPLATE_MSGID = re.compile(
    r"""\{%\s*trans(?:late)?\s+(?P<q1>["'])(?P<tag>.*?)(?P=q1)|\b_\(\s*(?P<q2>["'])(?P<arg>.*?)(?P=q2)\s*\)"""
)
PERCENT_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")


# --- reading the catalogue ----------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    msgctxt: str | None = None
    flags: set[str] = field(default_factory=set)
    line: int = 0
    ignored: str = ""  # msgid_plural, msgstr[1]…


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file as written by makemessages (entries separated by blank lines), the
    header (msgid "") included; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry, target = None, ""
    for number, raw in enumerate([*path.read_text(encoding="utf-8").splitlines(), ""], 1):
        line = raw.strip()
        if not line:
            if entry is not None and target:
                entries.append(entry)
            entry, target = None, ""
            continue
        entry = entry or Entry(line=number)
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            setattr(entry, target, getattr(entry, target) + ast.literal_eval(line))
        else:
            keyword, _sep, value = line.partition(" ")
            target = "msgstr" if keyword == "msgstr[0]" else keyword
            if target not in ("msgid", "msgstr", "msgctxt"):
                target = "ignored"
            setattr(entry, target, ast.literal_eval(value))
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert PO_FILE.is_file(), f"missing {PO_FILE}: run makemessages (see the module docstring)"
    return read_po(PO_FILE)


def messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid]


# --- (a) complete and compiled --------------------------------------------------------------------


def test_every_message_is_translated_and_none_is_fuzzy(po_entries):
    header = [e for e in po_entries if not e.msgid]
    assert len(header) == 1 and "Language: en" in header[0].msgstr
    assert "fuzzy" not in header[0].flags
    assert len(messages(po_entries)) > 200
    untranslated = [f"line {e.line}: {e.msgid}" for e in messages(po_entries) if not e.msgstr.strip()]
    fuzzy = [f"line {e.line}: {e.msgid}" for e in messages(po_entries) if "fuzzy" in e.flags]
    assert not untranslated, "untranslated:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy:\n" + "\n".join(fuzzy)


def placeholders(text: str, python_format: bool) -> tuple[set[str], list[str]]:
    """Named placeholders (each may repeat) and positional ones (order and count matter)."""
    if python_format:
        found = PERCENT_PLACEHOLDER.findall(text)
        return {p for p in found if p.startswith("%(")}, [p for p in found if not p.startswith("%(")]
    return set(BRACE_PLACEHOLDER.findall(text)), []


def test_translations_are_english_and_keep_their_placeholders(po_entries):
    for entry in messages(po_entries):
        assert not CJK.search(entry.msgstr), f"line {entry.line}: Chinese left in {entry.msgstr!r}"
        python_format = "python-format" in entry.flags
        if python_format or "{" in entry.msgid:
            assert placeholders(entry.msgid, python_format) == placeholders(entry.msgstr, python_format), (
                f"line {entry.line}: placeholders differ in {entry.msgstr!r}"
            )


def test_compiled_catalogue_matches_the_po_file(po_entries):
    """The .mo ships with the package (no build step), so it must be compiled from this very .po."""
    with MO_FILE.open("rb") as fp:
        compiled = stdlib_gettext.GNUTranslations(fp)
    catalog = compiled._catalog
    assert len(catalog) == len(po_entries), "django.mo is stale: run compilemessages"
    for entry in messages(po_entries):
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        assert catalog.get(key) == entry.msgstr, (
            f"django.mo is stale for {entry.msgid!r}: run compilemessages"
        )


# --- (b) the code speaks English when asked -------------------------------------------------------


def test_labels_follow_the_active_language():
    from chengguan.catalog.choices import Stage, TimeUnit
    from chengguan.catalog.models import MinorClass
    from chengguan.grid.models import UnitGrid
    from chengguan.org.choices import Role
    from chengguan.org.models import Region

    with translation.override("en"):
        assert str(UnitGrid._meta.verbose_name) == "unit grid"
        assert str(Region._meta.verbose_name) == "administrative region"
        assert str(Role.INSPECTOR.label) == "inspector"
        assert str(Role.OPERATOR.label) == "intake operator"
        assert str(Role.HANDLER.label) == "department handler"
        assert str(Stage.REGISTER.label) == "registration"
        assert str(TimeUnit.WORK_HOUR.label) == "working hours"
        assert str(MinorClass._meta.get_field("closure_condition").verbose_name) == "closure condition"
    with translation.override("zh-hans"):
        assert str(UnitGrid._meta.verbose_name) == "单元网格"
        assert str(Region._meta.verbose_name) == "行政区域"
        assert str(Role.INSPECTOR.label) == "监督员"
        assert str(TimeUnit.WORK_HOUR.label) == "工作时"


def test_error_messages_follow_the_active_language():
    from chengguan.core.models import WorkPeriod
    from chengguan.grid.services import GridError, grids_generate
    from chengguan.org.models import Region

    def region_error() -> str:
        with pytest.raises(ValidationError) as caught:
            Region(level="district", kind="district", code="12", name="x").clean()
        return caught.value.message_dict["code"][0]

    def work_period_error() -> str:
        import datetime as dt

        with pytest.raises(ValidationError) as caught:
            WorkPeriod(start=dt.time(12), end=dt.time(9)).clean()
        return caught.value.message_dict["end"][0]

    def grid_error() -> str:
        with pytest.raises(GridError) as caught:
            grids_generate(cell_m=5)
        return caught.value.messages[0]

    with translation.override("en"):
        assert region_error() == "The code of a district/county must be 6 digits."
        assert work_period_error() == "The end time must be later than the start time."
        assert grid_error() == "The cell size must be between 10 and 2000 metres"
    with translation.override("zh-hans"):
        assert region_error() == "区/县的代码应为 6 位数字"
        assert work_period_error() == "结束时间必须晚于开始时间"
        assert grid_error() == "网格边长应在 10–2000 米之间"


# --- (c) the admin answers in the browser's language ----------------------------------------------


@pytest.mark.django_db
def test_admin_login_page_in_english_when_asked(client):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page["Content-Language"] == "en"
    text = page.content.decode()
    assert '<html lang="en"' in text
    assert "Log in" in text and "Username" in text
    assert "登录" not in text and "用户名" not in text


@pytest.mark.django_db
def test_admin_login_page_in_chinese_by_default(client):
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert page["Content-Language"] == "zh-hans"
    text = page.content.decode()
    assert '<html lang="zh-hans"' in text
    assert "登录" in text and "用户名" in text
    assert "Log in" not in text


@pytest.mark.django_db
def test_admin_index_uses_the_english_catalogue(client, people):
    client.force_login(people["sysadmin"])
    text = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for label in ("Unit grid", "Administrative region", "Calendar adjustment", "Minor class", "Organisation"):
        assert label in text
    for label in ("单元网格", "行政区域", "日历调整", "小类", "组织机构"):
        assert label not in text


# --- (d) no Chinese source string without its English translation ---------------------------------


def python_msgids(source: str) -> set[str]:
    """String literals passed first to a gettext function; adjacent literals are joined, f-strings skipped."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in GETTEXT_FUNCTIONS:
            continue
        arg = node.args[1] if name.startswith("pgettext") and len(node.args) > 1 else node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
    return found


def template_msgids(source: str) -> set[str]:
    return {m.group("tag") if m.group("q1") else m.group("arg") for m in TEMPLATE_MSGID.finditer(source)}


def source_msgids() -> dict[str, str]:
    """Chinese msgids of src/chengguan (Python and templates), each with the first file it is in.

    Python files are read with `ast` rather than a regex, so implicit concatenation across lines and
    escapes come out exactly as xgettext sees them."""
    found: dict[str, str] = {}
    files = sorted(SOURCE_DIR.rglob("*.py")) + sorted(SOURCE_DIR.rglob("templates/**/*.html"))
    for path in files:
        if path.relative_to(SOURCE_DIR).parts[0] in IGNORED_DIRS:
            continue
        text = path.read_text(encoding="utf-8")
        msgids = python_msgids(text) if path.suffix == ".py" else template_msgids(text)
        for msgid in msgids:
            if CJK.search(msgid):
                found.setdefault(msgid, str(path.relative_to(SOURCE_DIR)))
    return found


def test_the_extractor_reads_literals_only():
    source = (
        "from django.utils.translation import gettext as _\n"
        'a = _("单元网格")\n'
        'b = _(\n    "目录 {code}："\n    "新增 {n}"\n)\n'
        'c = _(f"社区 {x}")\n'
        'd = gettext_lazy("监督员")\n'
        'e = str("不是")\n'
        "f = _(name)\n"
    )
    assert python_msgids(source) == {"单元网格", "目录 {code}：新增 {n}", "监督员"}
    template = """{% translate "登录" %} {% trans '退出' %} {{ x|default:_('空') }} {% translate x %}"""
    assert template_msgids(template) == {"登录", "退出", "空"}


def test_every_chinese_source_string_has_an_english_translation(po_entries):
    found = source_msgids()
    assert len(found) > 200, "the extractor found too few strings; is SOURCE_DIR right?"
    catalogue = {e.msgid: e.msgstr for e in messages(po_entries) if e.msgstr and "fuzzy" not in e.flags}
    missing = sorted(f"{where}: {msgid}" for msgid, where in found.items() if msgid not in catalogue)
    assert not missing, (
        "Chinese strings without an English translation; run makemessages, translate, compilemessages "
        "(see this module's docstring):\n" + "\n".join(missing)
    )
    with translation.override("en"):
        untranslated = sorted(msgid for msgid in found if translation.gettext(msgid) == msgid)
    assert not untranslated, "not in the compiled catalogue (run compilemessages):\n" + "\n".join(
        untranslated
    )
