"""Writes of the catalogue: loading a catalogue file, activating a catalogue, saving a minor class.

A catalogue file is a readable JSON document (see `fixtures/cjt214_2007.json`)::

    {
      "format": "chengguan-catalog/1",
      "catalog": {"code", "name", "standard", "version", "effective_from", "note"},
      "defaults": {<defaults>},                 # for every minor class of the catalogue
      "profiles": {"<name>": {<defaults>}},     # named sets a minor class picks with "profile"
      "majors": [
        {"kind": "component" | "event", "code": "01", "name": "公用设施",
         "defaults": {<defaults>},
         "minors": [{"code": "01", "name": "上水井盖",
                     "registration_condition": "…", "closure_condition": "…",
                     "profile"?, "department_kind"?, "local_extension"?, "limits"?, "urgent_limits"?}]}
      ]
    }

    <defaults> = {"department_kind"?, "local_extension"?,
                  "limits"?: {"<stage>": {"amount", "unit", "basis"?, "note"?}},
                  "urgent_limits"?: {…same…}}

A minor class's values are merged from the catalogue defaults, its major's defaults, its profile
and its own keys, the later winning (limits stage by stage). After the merge every minor class
must have a normal limit for each of the six stages; urgent limits are optional (an urgent case
without its own limit uses the normal one, see `MinorClass.limit`).

`catalog_load` validates the whole file first and reports every problem at once
(`CatalogError.messages`); only a valid file is written, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from chengguan.core.audit import record_bulk
from chengguan.core.errors import InvalidFile
from chengguan.org.choices import DepartmentKind

from .choices import ClassKind, LimitBasis, Stage, TimeUnit, Urgency
from .models import Catalog, MajorClass, MinorClass, StageLimit

FORMAT = "chengguan-catalog/1"
FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures"
DEFAULT_FIXTURE = FIXTURE_DIR / "cjt214_2007.json"

MAJOR_CODE = re.compile(r"^\d{2}$")
MINOR_CODE = re.compile(r"^\d{2,3}$")
MAX_AMOUNT = Decimal("999999.99")  # StageLimit.amount: max_digits=8, decimal_places=2

_TOP_KEYS = {"format", "catalog", "defaults", "profiles", "majors"}
_CATALOG_KEYS = {"code", "name", "standard", "version", "effective_from", "note"}
_DEFAULT_KEYS = {"department_kind", "local_extension", "limits", "urgent_limits"}
_MAJOR_KEYS = {"kind", "code", "name", "defaults", "minors"}
_MINOR_KEYS = {"code", "name", "registration_condition", "closure_condition", "profile"} | _DEFAULT_KEYS
_LIMIT_KEYS = {"amount", "unit", "basis", "note"}


class CatalogError(InvalidFile):
    """A catalogue that cannot be loaded; `messages` lists every problem (Chinese · English)."""


# --- the validated catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class LimitSpec:
    stage: str
    urgency: str
    amount: Decimal
    unit: str
    basis: str
    note: str


@dataclass(frozen=True)
class MinorSpec:
    code: str
    name: str
    pinyin: str
    registration_condition: str
    closure_condition: str
    department_kind: str
    local_extension: bool
    limits: tuple[LimitSpec, ...]


@dataclass(frozen=True)
class MajorSpec:
    kind: str
    code: str
    name: str
    minors: tuple[MinorSpec, ...]


@dataclass(frozen=True)
class CatalogSpec:
    """A catalogue file after validation and merging of defaults: what `catalog_load` writes."""

    code: str
    name: str
    standard: str
    version: str
    effective_from: dt.date
    note: str
    majors: tuple[MajorSpec, ...]

    @property
    def minor_count(self) -> int:
        return sum(len(m.minors) for m in self.majors)

    @property
    def limit_count(self) -> int:
        return sum(len(n.limits) for m in self.majors for n in m.minors)


@dataclass
class LoadResult:
    """What `catalog_load` did, counted per record type ("catalog", "major", "minor", "limit")."""

    catalog: Catalog
    spec: CatalogSpec
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)  # limits deleted, minor classes deactivated
    activated: bool = False

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()) + sum(self.removed.values()))

    def summary(self) -> str:
        def part(counter: Counter) -> str:
            return " / ".join(str(counter[k]) for k in ("major", "minor", "limit"))

        return _(
            "目录 {code}：{majors} 个大类，{minors} 个小类，{limits} 条环节时限；"
            "新增 {created}，修改 {updated}，未变 {unchanged}，停用或删除 {removed}（大类/小类/时限）{active}"
        ).format(
            code=self.catalog.code,
            majors=len(self.spec.majors),
            minors=self.spec.minor_count,
            limits=self.spec.limit_count,
            created=part(self.created),
            updated=part(self.updated),
            unchanged=part(self.unchanged),
            removed=part(self.removed),
            active=_("；已设为当前目录")
            if self.catalog.active
            else _("；未启用（使用 --activate 设为当前目录）"),
        )


# --- pinyin -----------------------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def pinyin_of(name: str, max_length: int | None = None) -> str:
    """Search key of a name: lowercase initials, a space, then the full syllables without tones
    separated by spaces: 上水井盖 → "ssjg shang shui jing gai". The selectors match initials as a
    substring of the first word and full pinyin from the start of a syllable."""
    max_length = max_length or MinorClass._meta.get_field("pinyin").max_length
    syllables = [s for s in (_NON_ALNUM.sub("", p.lower()) for p in lazy_pinyin(name or "")) if s]
    initials = "".join(
        s
        for s in (_NON_ALNUM.sub("", p.lower()) for p in lazy_pinyin(name or "", style=Style.FIRST_LETTER))
        if s
    )[:max_length]
    value = initials
    for syllable in syllables:  # keep whole syllables only when the field is too short
        candidate = f"{value} {syllable}"
        if len(candidate) > max_length:
            break
        value = candidate
    return value


# --- reading and validating -------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: tuple[str, str], field_name: str, zh: str, en: str, **values: Any) -> None:
        where_zh, where_en = where
        self.messages.append(
            _("{where}：{field} {problem} · {where_en}: {field} {problem_en}").format(
                where=where_zh,
                where_en=where_en,
                field=field_name,
                problem=zh.format(**values),
                problem_en=en.format(**values),
            )
        )


def _read(path_or_data) -> Any:
    if not isinstance(path_or_data, (str, os.PathLike)):
        return path_or_data  # already parsed; the validator checks its shape
    path = Path(path_or_data)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(
            [_("找不到目录文件 {path} · catalogue file not found: {path}").format(path=path)]
        ) from None
    except UnicodeDecodeError:
        raise CatalogError(
            [_("目录文件 {path} 不是 UTF-8 编码 · catalogue file {path} is not UTF-8 text").format(path=path)]
        ) from None
    except OSError as exc:
        raise CatalogError(
            [
                _("无法读取目录文件 {path}：{error} · cannot read catalogue file {path}: {error}").format(
                    path=path, error=exc.strerror or exc
                )
            ]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            [
                _(
                    "目录文件 {path} 不是有效的 JSON（第 {line} 行第 {column} 列：{error}） · "
                    "catalogue file {path} is not valid JSON (line {line}, column {column}: {error})"
                ).format(path=path, line=exc.lineno, column=exc.colno, error=exc.msg)
            ]
        ) from None


def _choices_text(choices) -> str:
    return ", ".join(choices.values)


class _Validator:
    def __init__(self, data: Any) -> None:
        self.data = data
        self.errors = _Errors()

    # small checks, each adding a message and returning a cleaned value or None

    def _unknown_keys(self, obj: Mapping, allowed: set[str], where, prefix: str = "") -> None:
        for key in obj:
            if key not in allowed:
                self.errors.add(
                    where,
                    f"{prefix}{key}",
                    _("是未知字段，可用字段：{allowed}"),
                    "is an unknown field; known fields: {allowed}",
                    allowed=", ".join(sorted(allowed)),
                )

    def _object(self, value: Any, where, name: str) -> Mapping | None:
        if not isinstance(value, Mapping):
            self.errors.add(where, name, _("应为对象 {{…}}"), "must be an object {{…}}")
            return None
        return value

    def _text(
        self, obj: Mapping, key: str, where, *, max_length: int | None, required: bool = True, prefix=""
    ):
        name = f"{prefix}{key}"
        value = obj.get(key)
        if value is None:
            if required:
                self.errors.add(where, name, _("缺失或为空"), "is missing or empty")
                return None
            return ""
        if not isinstance(value, str):
            self.errors.add(where, name, _("应为文本"), "must be text")
            return None
        value = value.strip()
        if required and not value:
            self.errors.add(where, name, _("不能为空"), "must not be empty")
            return None
        if max_length is not None and len(value) > max_length:
            self.errors.add(
                where,
                name,
                _("超过 {max} 个字符（{length}）"),
                "is longer than {max} characters ({length})",
                max=max_length,
                length=len(value),
            )
            return None
        return value

    def _choice(self, value: Any, choices, where, name: str) -> str | None:
        if value not in choices.values:
            self.errors.add(
                where,
                name,
                _("的值 {value!r} 无效，可选：{choices}"),
                "has an invalid value {value!r}; choose one of: {choices}",
                value=value,
                choices=_choices_text(choices),
            )
            return None
        return choices(value).value

    def _limits(self, value: Any, urgency: str, where, name: str, invalid: set[str]) -> dict[str, LimitSpec]:
        """Valid limits by stage; the stages of invalid entries go into `invalid` (so a bad entry is
        reported once, not again as "missing")."""
        result: dict[str, LimitSpec] = {}
        if self._object(value, where, name) is None:
            invalid.update(f"{urgency}:{s}" for s in Stage.values)
            return result
        for stage, spec in value.items():
            path = f"{name}.{stage}"
            invalid.add(f"{urgency}:{stage}")
            stage_ok = self._choice(stage, Stage, where, f"{name}[{stage!r}]") is not None
            if self._object(spec, where, path) is None:
                continue
            self._unknown_keys(spec, _LIMIT_KEYS, where, f"{path}.")
            amount = self._amount(spec.get("amount"), where, f"{path}.amount")
            unit = self._choice(spec.get("unit"), TimeUnit, where, f"{path}.unit")
            basis = self._choice(
                spec.get("basis", LimitBasis.LOCAL_DEFAULT), LimitBasis, where, f"{path}.basis"
            )
            note = self._text(
                spec,
                "note",
                where,
                max_length=StageLimit._meta.get_field("note").max_length,
                required=False,
                prefix=f"{path}.",
            )
            if stage_ok and amount is not None and unit and basis and note is not None:
                result[stage] = LimitSpec(stage, urgency, amount, unit, basis, note)
                invalid.discard(f"{urgency}:{stage}")
        return result

    def _amount(self, value: Any, where, name: str) -> Decimal | None:
        amount = None
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                amount = None
        if (
            amount is None
            or not amount.is_finite()
            or amount <= 0
            or amount > MAX_AMOUNT
            or amount != amount.quantize(Decimal("0.01"))
        ):
            self.errors.add(
                where,
                name,
                _("必须是大于 0 的数（最多两位小数，不超过 {max}），实际为 {value!r}"),
                "must be a number greater than 0 (at most 2 decimals, at most {max}), got {value!r}",
                max=MAX_AMOUNT,
                value=value,
            )
            return None
        return amount

    def _defaults(self, value: Any, where, name: str) -> dict[str, Any]:
        """A <defaults> object (catalogue defaults, a profile, a major's defaults)."""
        out: dict[str, Any] = {"limits": {}, "urgent_limits": {}, "invalid": set()}
        if self._object(value, where, name) is None:
            out["invalid"].update({"department_kind", *(f"{Urgency.NORMAL}:{s}" for s in Stage.values)})
            return out
        self._unknown_keys(value, _DEFAULT_KEYS, where, f"{name}.")
        self._defaults_into(value, out, where, f"{name}.")
        return out

    def _defaults_into(self, obj: Mapping, out: dict[str, Any], where, prefix: str) -> None:
        """Read the <defaults> keys of `obj` into `out`; invalid entries are named in out["invalid"]."""
        invalid: set[str] = out["invalid"]
        if "department_kind" in obj:
            value = self._choice(obj["department_kind"], DepartmentKind, where, f"{prefix}department_kind")
            if value is None:
                invalid.add("department_kind")
            out["department_kind"] = value
        if "local_extension" in obj:
            if isinstance(obj["local_extension"], bool):
                out["local_extension"] = obj["local_extension"]
            else:
                self.errors.add(
                    where, f"{prefix}local_extension", _("应为 true 或 false"), "must be true or false"
                )
        if "limits" in obj:
            out["limits"] = self._limits(
                obj["limits"], Urgency.NORMAL.value, where, f"{prefix}limits", invalid
            )
        if "urgent_limits" in obj:
            out["urgent_limits"] = self._limits(
                obj["urgent_limits"], Urgency.URGENT.value, where, f"{prefix}urgent_limits", invalid
            )

    # the document

    def run(self) -> CatalogSpec | None:
        where = (_("目录文件"), "catalogue file")
        data = self._object(self.data, where, "(root)")
        if data is None:
            return None
        self._unknown_keys(data, _TOP_KEYS, where)
        if "format" in data and data["format"] != FORMAT:
            self.errors.add(
                where,
                "format",
                _("应为 {expected!r}，实际为 {value!r}"),
                "must be {expected!r}, got {value!r}",
                expected=FORMAT,
                value=data["format"],
            )
        header = self._catalog(data.get("catalog"))
        base = self._defaults(data.get("defaults", {}), (_("目录默认值"), "catalogue defaults"), "defaults")
        profiles: dict[str, dict[str, Any]] = {}
        raw_profiles = data.get("profiles", {})
        if self._object(raw_profiles, where, "profiles") is not None:
            for pname, pvalue in raw_profiles.items():
                profiles[pname] = self._defaults(
                    pvalue, (_("时限模板 {name}").format(name=pname), f"profile {pname}"), f"profiles.{pname}"
                )
        majors = self._majors(data.get("majors"), base, profiles, where)
        if self.errors.messages or header is None:
            return None
        return CatalogSpec(**header, majors=tuple(majors))

    def _catalog(self, value: Any) -> dict[str, Any] | None:
        where = (_("目录信息"), "catalogue header")
        obj = self._object(value, where, "catalog")
        if obj is None:
            return None
        self._unknown_keys(obj, _CATALOG_KEYS, where, "catalog.")
        out: dict[str, Any] = {}
        for key in ("code", "name", "standard", "version"):
            out[key] = self._text(
                obj, key, where, max_length=Catalog._meta.get_field(key).max_length, prefix="catalog."
            )
        out["note"] = self._text(obj, "note", where, max_length=None, required=False, prefix="catalog.")
        raw_date = obj.get("effective_from")
        try:
            out["effective_from"] = dt.date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
        except ValueError:
            out["effective_from"] = None
        if out["effective_from"] is None:
            self.errors.add(
                where,
                "catalog.effective_from",
                _("应为日期 YYYY-MM-DD，实际为 {value!r}"),
                "must be a date YYYY-MM-DD, got {value!r}",
                value=raw_date,
            )
        return None if any(v is None for v in out.values()) else out

    def _majors(self, value: Any, base, profiles, where) -> list[MajorSpec]:
        if not isinstance(value, list) or not value:
            self.errors.add(where, "majors", _("应为非空列表"), "must be a non-empty list")
            return []
        majors: list[MajorSpec] = []
        seen_majors: dict[tuple[str, str], int] = {}
        seen_names: dict[tuple[str, str], str] = {}
        for i, raw in enumerate(value):
            pos = f"majors[{i}]"
            if self._object(raw, (_("大类 {pos}").format(pos=pos), f"major class {pos}"), pos) is None:
                continue
            kind = raw.get("kind")
            kind_ok = kind in ClassKind.values
            kind_zh = ClassKind(kind).label if kind_ok else ""
            kind_en = kind if kind_ok else ""
            code = raw.get("code")
            label = code if isinstance(code, str) and code else pos
            where_major = (
                _("{kind}大类 {code}「{name}」").format(kind=kind_zh, code=label, name=raw.get("name", "")),
                f"{kind_en} major class {label} ({raw.get('name', '')})".strip(),
            )
            self._unknown_keys(raw, _MAJOR_KEYS, where_major)
            self._choice(kind, ClassKind, where_major, "kind")
            code_ok = isinstance(code, str) and bool(MAJOR_CODE.match(code))
            if not code_ok:
                self.errors.add(
                    where_major,
                    "code",
                    _("应为 2 位数字，实际为 {value!r}"),
                    "must be 2 digits, got {value!r}",
                    value=code,
                )
            elif kind_ok:
                if (kind, code) in seen_majors:
                    self.errors.add(
                        where_major,
                        "code",
                        _("与 majors[{other}] 重复"),
                        "duplicates majors[{other}]",
                        other=seen_majors[(kind, code)],
                    )
                seen_majors.setdefault((kind, code), i)
            name = self._text(
                raw, "name", where_major, max_length=MajorClass._meta.get_field("name").max_length
            )
            defaults = self._defaults(raw.get("defaults", {}), where_major, "defaults")
            minors = self._minors(
                raw.get("minors"),
                where_major,
                kind if kind_ok else "",
                kind_zh,
                kind_en,
                code if code_ok else "??",
                base,
                defaults,
                profiles,
                seen_names,
            )
            if kind_ok and code_ok and name:
                majors.append(MajorSpec(kind, code, name, tuple(minors)))
        return majors

    def _minors(
        self,
        value,
        where_major,
        kind,
        kind_zh,
        kind_en,
        major_code,
        base,
        major_defaults,
        profiles,
        seen_names,
    ) -> list[MinorSpec]:
        if not isinstance(value, list) or not value:
            self.errors.add(where_major, "minors", _("应为非空列表"), "must be a non-empty list")
            return []
        minors: list[MinorSpec] = []
        seen_codes: dict[str, int] = {}
        for j, raw in enumerate(value):
            pos = f"minors[{j}]"
            if self._object(raw, where_major, pos) is None:
                continue
            code = raw.get("code")
            code_ok = isinstance(code, str) and bool(MINOR_CODE.match(code))
            label = f"{major_code}{code}" if code_ok else f"{major_code} {pos}"
            where = (
                _("{kind}小类 {code}「{name}」").format(kind=kind_zh, code=label, name=raw.get("name", "")),
                f"{kind_en} minor class {label} ({raw.get('name', '')})".strip(),
            )
            self._unknown_keys(raw, _MINOR_KEYS, where)
            if not code_ok:
                self.errors.add(
                    where,
                    "code",
                    _("应为 2 或 3 位数字，实际为 {value!r}"),
                    "must be 2 or 3 digits, got {value!r}",
                    value=code,
                )
            elif code in seen_codes:
                self.errors.add(
                    where,
                    "code",
                    _("在本大类中重复（与 minors[{other}]）"),
                    "is duplicated in its major class (minors[{other}])",
                    other=seen_codes[code],
                )
            else:
                seen_codes[code] = j
            name = self._text(raw, "name", where, max_length=MinorClass._meta.get_field("name").max_length)
            if name and kind:
                if (kind, name) in seen_names:
                    self.errors.add(
                        where,
                        "name",
                        _("与{kind}小类 {other} 同名"),
                        "has the same name as {kind_en} minor class {other}",
                        kind=kind_zh,
                        kind_en=kind_en,
                        other=seen_names[(kind, name)],
                    )
                seen_names.setdefault((kind, name), label)
            registration = self._text(raw, "registration_condition", where, max_length=None)
            closure = self._text(raw, "closure_condition", where, max_length=None)

            layers = [base, major_defaults]
            profile_name = raw.get("profile")
            if profile_name is not None:
                if isinstance(profile_name, str) and profile_name in profiles:
                    layers.append(profiles[profile_name])
                else:
                    self.errors.add(
                        where,
                        "profile",
                        _("引用了不存在的时限模板 {value!r}（已定义：{known}）"),
                        "names an unknown profile {value!r} (defined: {known})",
                        value=profile_name,
                        known=", ".join(sorted(profiles)) or "-",
                    )
            own: dict[str, Any] = {"limits": {}, "urgent_limits": {}, "invalid": set()}
            self._defaults_into(raw, own, where, "")
            layers.append(own)
            merged: dict[str, Any] = {"limits": {}, "urgent_limits": {}}
            invalid: set[str] = set()
            for layer in layers:
                for key in ("department_kind", "local_extension"):
                    if layer.get(key) is not None:
                        merged[key] = layer[key]
                merged["limits"].update(layer["limits"])
                merged["urgent_limits"].update(layer["urgent_limits"])
                invalid |= layer["invalid"]

            department = merged.get("department_kind")
            if department is None and "department_kind" not in invalid:
                self.errors.add(
                    where,
                    "department_kind",
                    _("未设置（本类、时限模板和大类默认值中都没有）"),
                    "is not set (neither the class, its profile nor its major's defaults set it)",
                )
            missing = [
                s
                for s in Stage.values
                if s not in merged["limits"] and f"{Urgency.NORMAL}:{s}" not in invalid
            ]
            if missing:
                self.errors.add(
                    where,
                    "limits",
                    _("缺少一般案件的环节时限：{stages}（已合并目录默认值、大类默认值和时限模板）"),
                    "has no normal time limit for stage(s): {stages} (after merging catalogue, major and profile defaults)",
                    stages=", ".join(missing),
                )
            if code_ok and name and registration and closure and department:
                limits = tuple(merged["limits"][s] for s in Stage.values if s in merged["limits"]) + tuple(
                    merged["urgent_limits"][s] for s in Stage.values if s in merged["urgent_limits"]
                )
                minors.append(
                    MinorSpec(
                        code=code,
                        name=name,
                        pinyin=pinyin_of(name),
                        registration_condition=registration,
                        closure_condition=closure,
                        department_kind=department,
                        local_extension=bool(merged.get("local_extension", False)),
                        limits=limits,
                    )
                )
        return minors


def catalog_validate(path_or_data) -> CatalogSpec:
    """Read and check a catalogue (a file path or the parsed document) without writing anything.

    Raises `CatalogError` listing every problem found."""
    validator = _Validator(_read(path_or_data))
    spec = validator.run()
    if validator.errors.messages or spec is None:
        raise CatalogError(validator.errors.messages or [_("目录无效 · invalid catalogue")])
    return spec


# --- writing ------------------------------------------------------------------------------------------


class _Writer:
    """Creates missing rows in bulk (one bulk audit entry per model, as imports do) and saves changed
    rows one by one (audited field by field); unchanged rows are not written."""

    def __init__(self, result: LoadResult) -> None:
        self.result = result
        self.new: dict[str, list] = {"major": [], "minor": [], "limit": []}

    def upsert(self, key: str, model, existing, values: dict[str, Any], **identity):
        if existing is None:
            obj = model(**identity, **values)
            self.new[key].append(obj)
            self.result.created[key] += 1
            return obj
        changed = [name for name, value in values.items() if getattr(existing, name) != value]
        if changed:
            for name in changed:
                setattr(existing, name, values[name])
            existing.save(update_fields=[*changed, "updated_at"])
            self.result.updated[key] += 1
        else:
            self.result.unchanged[key] += 1
        return existing

    def flush(self, key: str, model, describe) -> None:
        rows = self.new[key]
        if not rows:
            return
        model.objects.bulk_create(rows)
        record_bulk(
            model,
            _("载入目录 {code}：新增 {count} 条{model}").format(
                code=self.result.catalog.code,
                count=len(rows),
                model=model._meta.verbose_name,
            ),
            {"catalog": self.result.catalog.code, "created": [describe(row) for row in rows]},
        )
        self.new[key] = []


def catalog_load(path_or_data, *, activate: bool) -> LoadResult:
    """Load a catalogue file (or parsed document) into the database, all or nothing.

    The catalogue is identified by its code: loading it again updates it in place (no duplicates;
    unchanged records are not written). Minor classes missing from the file are deactivated, not
    deleted (cases may refer to them); stage limits missing from the file are deleted. With
    `activate`, the catalogue becomes the one active catalogue."""
    spec = catalog_validate(path_or_data)
    header = {
        "name": spec.name,
        "standard": spec.standard,
        "version": spec.version,
        "effective_from": spec.effective_from,
        "note": spec.note,
    }
    with transaction.atomic():
        catalog = Catalog.objects.select_for_update().filter(code=spec.code).first()
        result = LoadResult(catalog=catalog or Catalog(code=spec.code), spec=spec)
        writer = _Writer(result)
        if catalog is None:
            catalog = Catalog.objects.create(code=spec.code, **header)
            result.created["catalog"] += 1
        else:
            catalog = writer.upsert("catalog", Catalog, catalog, header)
        result.catalog = catalog

        majors = {(m.kind, m.code): m for m in MajorClass.objects.filter(catalog=catalog)}
        minors = {(n.major_id, n.code): n for n in MinorClass.objects.filter(major__catalog=catalog)}
        limits = {
            (x.minor_id, x.stage, x.urgency): x
            for x in StageLimit.objects.filter(minor__major__catalog=catalog)
        }

        major_objs = [
            writer.upsert(
                "major",
                MajorClass,
                majors.get((m.kind, m.code)),
                {"name": m.name},
                catalog=catalog,
                kind=m.kind,
                code=m.code,
            )
            for m in spec.majors
        ]
        writer.flush("major", MajorClass, lambda m: f"{m.kind}:{m.code}")

        minor_objs = []
        for major, major_spec in zip(major_objs, spec.majors, strict=True):
            for n in major_spec.minors:
                values = {
                    "name": n.name,
                    "pinyin": n.pinyin,
                    "registration_condition": n.registration_condition,
                    "closure_condition": n.closure_condition,
                    "default_department_kind": n.department_kind,
                    "local_extension": n.local_extension,
                    "active": True,
                }
                minor = writer.upsert(
                    "minor", MinorClass, minors.get((major.pk, n.code)), values, major=major, code=n.code
                )
                minor_objs.append((minor, n))
        writer.flush("minor", MinorClass, lambda n: f"{n.major.kind}:{n.full_code}")

        kept_limits: set[int] = set()
        for minor, minor_spec in minor_objs:
            for x in minor_spec.limits:
                existing = limits.get((minor.pk, x.stage, x.urgency))
                writer.upsert(
                    "limit",
                    StageLimit,
                    existing,
                    {"amount": x.amount, "unit": x.unit, "basis": x.basis, "note": x.note},
                    minor=minor,
                    stage=x.stage,
                    urgency=x.urgency,
                )
                if existing is not None:
                    kept_limits.add(existing.pk)
        writer.flush(
            "limit", StageLimit, lambda x: f"{x.minor.major.kind}:{x.minor.full_code}:{x.urgency}:{x.stage}"
        )

        kept_minors = {minor.pk for minor, _spec in minor_objs}
        for limit in limits.values():
            if limit.pk not in kept_limits and limit.minor_id in kept_minors:
                limit.delete()
                result.removed["limit"] += 1
        for minor in minors.values():
            if minor.pk not in kept_minors and minor.active:
                minor.active = False
                minor.save(update_fields=["active", "updated_at"])
                result.removed["minor"] += 1
        if activate:
            result.activated = catalog_activate(catalog)
    return result


def catalog_activate(catalog: Catalog) -> bool:
    """Make `catalog` the one active catalogue (new cases use it). Returns whether anything changed."""
    with transaction.atomic():
        changed = False
        # The partial unique constraint allows one active row: deactivate the others first.
        for other in Catalog.objects.select_for_update().filter(active=True).exclude(pk=catalog.pk):
            other.active = False
            other.save(update_fields=["active", "updated_at"])
            changed = True
        if not catalog.active:
            catalog.active = True
            catalog.save(update_fields=["active", "updated_at"])
            changed = True
        return changed


def minor_class_save(minor: MinorClass) -> MinorClass:
    """Save a minor class edited by hand (the admin): keeps its pinyin search key filled."""
    minor.pinyin = pinyin_of(minor.name)
    minor.full_clean()
    minor.save()
    return minor
