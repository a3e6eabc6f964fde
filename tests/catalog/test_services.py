"""Loading: validation before writing, all or nothing, idempotent, activation."""

from __future__ import annotations

import json

import pytest

from chengguan.catalog import services
from chengguan.catalog.models import Catalog, MinorClass, StageLimit
from chengguan.core.models import AuditLog

from .conftest import row_counts

pytestmark = pytest.mark.django_db


def test_loading_twice_is_idempotent(data):
    first = services.catalog_load(data, activate=True)
    counts = row_counts()
    second = services.catalog_load(data, activate=True)
    assert row_counts() == counts  # no duplicates, and no audit entries for unchanged rows
    assert second.catalog.pk == first.catalog.pk
    assert not second.changed and not second.activated
    assert sum(second.created.values()) == sum(second.updated.values()) == 0
    assert second.unchanged["minor"] == first.created["minor"] == MinorClass.objects.count()
    assert second.unchanged["limit"] == first.created["limit"] == StageLimit.objects.count()


def test_loading_again_updates_in_place(data):
    services.catalog_load(data, activate=False)
    cover = MinorClass.objects.get(major__kind="component", major__code="01", code="01")
    removed = MinorClass.objects.get(major__kind="event", major__code="06", code="06")

    major = data["majors"][0]
    major["minors"][0]["name"] = "供水井盖"
    major["minors"][0]["profile"] = "safety_hazard"  # drops the cover's reference handle limit
    data["majors"][-1]["minors"].pop()  # 违规设置地桩地锁
    result = services.catalog_load(data, activate=False)

    cover.refresh_from_db()
    removed.refresh_from_db()
    assert cover.name == "供水井盖" and cover.pinyin.startswith("gsjg ")
    assert cover.limit("handle").amount == 3  # the major's default replaces the profile's 6 h
    assert not removed.active  # kept for old cases, hidden from search
    assert result.updated["minor"] == 1 and result.removed["minor"] == 1
    assert result.updated["limit"] == 2  # handle normal (6 h → 3 work days), handle urgent (2 h → 4 h)
    assert result.removed["limit"] == 0
    # put it back: the class comes back active
    data["majors"][-1]["minors"].append(
        {
            "code": "06",
            "name": "违规设置地桩地锁",
            "registration_condition": "私设地锁",
            "closure_condition": "已拆除",
        }
    )
    services.catalog_load(data, activate=False)
    removed.refresh_from_db()
    assert removed.active


def test_limits_missing_from_the_file_are_deleted(data):
    services.catalog_load(data, activate=False)
    gas = data["majors"][9]["minors"][2]
    assert gas["name"] == "燃气管道破裂"
    del gas["urgent_limits"]
    data["majors"][9]["defaults"].pop("urgent_limits")
    result = services.catalog_load(data, activate=False)
    assert not StageLimit.objects.filter(
        minor__major__kind="event", minor__major__code="04", urgency="urgent"
    ).exists()
    assert result.removed["limit"] == 10 * 5


def test_activation_switches_the_active_catalogue(data):
    first = services.catalog_load(data, activate=True).catalog
    data["catalog"].update(
        code="LOCAL-2025", name="本市部件事件目录", version="2025", effective_from="2025-01-01"
    )
    second = services.catalog_load(data, activate=False).catalog
    assert Catalog.objects.get(active=True) == first

    result = services.catalog_load(data, activate=True)
    assert result.activated
    assert list(Catalog.objects.filter(active=True)) == [second]
    first.refresh_from_db()
    assert not first.active

    assert services.catalog_activate(first)
    assert list(Catalog.objects.filter(active=True).values_list("code", flat=True)) == ["CJT214-2007"]
    assert not services.catalog_activate(first)  # already active: nothing to do


def test_load_is_audited(data):
    # Only this test's entries (the shared test city may have loaded a catalogue before).
    mark = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    log = AuditLog.objects.filter(id__gt=mark)
    services.catalog_load(data, activate=True)
    bulk = log.get(model="catalog.MinorClass", action="bulk")
    assert len(bulk.changes["created"]) == MinorClass.objects.count()
    assert "component:0101" in bulk.changes["created"]
    assert log.filter(model="catalog.StageLimit", action="bulk").count() == 1
    # a later change is audited field by field
    data["majors"][0]["minors"][0]["closure_condition"] = "井盖已更换"
    services.catalog_load(data, activate=True)
    entry = log.filter(model="catalog.MinorClass", action="update").get()
    assert entry.changes["changed"]["closure_condition"][1] == "井盖已更换"


# --- bad input ---------------------------------------------------------------------------------------


def _set(path, value):
    def mutate(d):
        *parents, last = path
        target = d
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


_DELETE = object()
M0 = ("majors", 0, "minors", 0)  # component 0101 上水井盖
E0 = ("majors", 6, "minors", 0)  # event 0101 私搭乱建

BAD = {
    "major code not 2 digits": (_set(("majors", 1, "code"), "2"), ["道路交通", "code", "'2'"]),
    "major code duplicated": (
        _set(("majors", 1, "code"), "01"),
        ["部件大类 01「道路交通」", "code", "majors[0]"],
    ),
    "unknown kind": (_set(("majors", 1, "kind"), "part"), ["道路交通", "kind", "'part'"]),
    "minor code not digits": (_set((*M0, "code"), "1a"), ["上水井盖", "code", "'1a'"]),
    "minor code too long": (_set((*M0, "code"), "0001"), ["上水井盖", "code", "'0001'"]),
    "minor code duplicated": (
        _set(("majors", 0, "minors", 1, "code"), "01"),
        ["0101「污水井盖」", "code", "minors[0]"],
    ),
    "empty name": (_set((*M0, "name"), "  "), ["0101", "name", "不能为空", "must not be empty"]),
    "duplicate name in a kind": (
        _set(("majors", 1, "minors", 0, "name"), "上水井盖"),
        ["0201", "name", "0101"],
    ),
    "missing registration condition": (
        _set((*M0, "registration_condition"), _DELETE),
        ["0101「上水井盖」", "registration_condition"],
    ),
    "empty closure condition": (
        _set((*E0, "closure_condition"), ""),
        ["事件小类 0101「私搭乱建」", "closure_condition"],
    ),
    "unknown department kind": (
        _set((*M0, "department_kind"), "fire_brigade"),
        ["0101", "department_kind", "'fire_brigade'"],
    ),
    "unknown stage": (
        _set((*M0, "limits"), {"handel": {"amount": 1, "unit": "hour"}}),
        ["0101", "limits['handel']"],
    ),
    "unknown unit": (
        _set((*E0, "limits", "handle", "unit"), "days"),
        ["0101「私搭乱建」", "limits.handle.unit", "'days'"],
    ),
    "zero amount": (_set((*E0, "limits", "handle", "amount"), 0), ["私搭乱建", "limits.handle.amount", "0"]),
    "negative amount": (
        _set((*E0, "limits", "handle", "amount"), -3),
        ["私搭乱建", "limits.handle.amount", "-3"],
    ),
    "amount not a number": (
        _set((*E0, "limits", "handle", "amount"), "many"),
        ["私搭乱建", "amount", "'many'"],
    ),
    "amount with 3 decimals": (
        _set((*E0, "limits", "handle", "amount"), 1.005),
        ["私搭乱建", "amount", "1.005"],
    ),
    "amount is a boolean": (_set((*E0, "limits", "handle", "amount"), True), ["私搭乱建", "amount"]),
    "unknown basis": (
        _set((*E0, "limits", "handle", "basis"), "law"),
        ["私搭乱建", "limits.handle.basis", "'law'"],
    ),
    "unknown profile": (_set((*M0, "profile"), "manhole"), ["0101", "profile", "'manhole'"]),
    "unknown field (typo)": (_set((*M0, "closure_conditon"), "x"), ["0101", "closure_conditon"]),
    "local_extension not a boolean": (_set((*M0, "local_extension"), "yes"), ["0101", "local_extension"]),
    "stage missing after defaults": (
        _set(("majors", 4, "defaults", "limits"), _DELETE),
        ["部件小类 0501「宣传栏」", "limits", "handle"],
    ),
    "department missing after defaults": (
        _set(("majors", 4, "defaults", "department_kind"), _DELETE),
        ["部件小类 0503「危旧房屋」", "department_kind"],
    ),
    "bad date": (
        _set(("catalog", "effective_from"), "2007-02-30"),
        ["catalog.effective_from", "'2007-02-30'"],
    ),
    "empty catalogue code": (_set(("catalog", "code"), ""), ["catalog.code"]),
    "wrong format": (_set(("format",), "chengguan-catalog/9"), ["format", "chengguan-catalog/9"]),
    "no majors": (_set(("majors",), []), ["majors"]),
    "no minors": (_set(("majors", 3, "minors"), []), ["园林绿化", "minors"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_a_message_and_nothing_is_written(data, case):
    services.catalog_load(json.loads(json.dumps(data)), activate=True)  # an existing catalogue to damage
    data["majors"][2]["minors"][0]["name"] = "公厕"  # a valid change that must not be written either
    mutate, expected = BAD[case]
    mutate(data)
    before = row_counts()
    with pytest.raises(services.CatalogError) as exc:
        services.catalog_load(data, activate=True)
    assert row_counts() == before
    assert MinorClass.objects.filter(name="公共厕所").exists()
    assert any(all(part in message for part in expected) for message in exc.value.messages), (
        exc.value.messages
    )
    for message in exc.value.messages:
        assert " · " in message  # Chinese · English


def test_bad_input_on_an_empty_database_writes_nothing(data):
    data["majors"][0]["minors"][0]["limits"] = {"handle": {"amount": 0, "unit": "hour"}}
    before = row_counts()
    with pytest.raises(services.CatalogError):
        services.catalog_load(data, activate=True)
    assert before["catalog"] == 0 and row_counts() == before


def test_all_errors_are_reported_at_once(data):
    data["majors"][0]["minors"][0]["code"] = "x"
    data["majors"][6]["minors"][0]["department_kind"] = "army"
    data["majors"][10]["minors"][3]["limits"] = {"handle": {"amount": 2, "unit": "weeks"}}
    with pytest.raises(services.CatalogError) as exc:
        services.catalog_validate(data)
    assert len(exc.value.messages) == 3, exc.value.messages
    joined = "\n".join(exc.value.messages)
    assert (
        "'x'" in joined
        and "'army'" in joined
        and "事件小类 0504「占道经营」" in joined
        and "'weeks'" in joined
    )


def test_a_bad_default_is_reported_once_not_for_every_class(data):
    data["majors"][0]["defaults"]["limits"]["handle"]["unit"] = "days"
    data["majors"][0]["defaults"]["department_kind"] = "nobody"
    with pytest.raises(services.CatalogError) as exc:
        services.catalog_validate(data)
    assert len(exc.value.messages) == 2, exc.value.messages
    assert all("部件大类 01「公用设施」" in m for m in exc.value.messages)


def test_a_failure_while_writing_rolls_everything_back(data, monkeypatch):
    original = services.record_bulk

    def failing_record_bulk(model, *args, **kwargs):
        if model is StageLimit:  # the last step: majors and minor classes are already inserted
            raise RuntimeError("disk full")
        return original(model, *args, **kwargs)

    monkeypatch.setattr(services, "record_bulk", failing_record_bulk)
    before = row_counts()
    with pytest.raises(RuntimeError):
        services.catalog_load(data, activate=True)
    assert before["catalog"] == 0 and row_counts() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"catalog": ', "JSON"),
        ("[1, 2]", "(root)"),
        ("\xff\xfe", "UTF-8"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    with pytest.raises(services.CatalogError) as exc:
        services.catalog_validate(path)
    assert expected in exc.value.messages[0]


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(services.CatalogError) as exc:
        services.catalog_validate(tmp_path / "nope.json")
    assert "找不到" in exc.value.messages[0] and "not found" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("上水井盖", "ssjg shang shui jing gai"),
        ("绿地", "ld lv di"),
        ("早(夜)市", "zys zao ye shi"),
        ("LED屏", "ledp led ping"),
        ("", ""),
    ],
)
def test_pinyin_of(name, key):
    assert services.pinyin_of(name) == key


def test_pinyin_of_a_long_name_keeps_whole_syllables():
    key = services.pinyin_of("渣土运输车辆未安装密闭装置", max_length=50)
    assert len(key) <= 50
    assert key.startswith("ztysclwazmbzz zha tu yun shu")
    assert not key.endswith(" ")


def test_minor_class_save_fills_pinyin(loaded):
    minor = MinorClass.objects.get(name="路灯")
    minor.name = "景观路灯"
    services.minor_class_save(minor)
    minor.refresh_from_db()
    assert minor.pinyin == "jgld jing guan lu deng"
