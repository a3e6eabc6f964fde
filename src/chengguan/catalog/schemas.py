from ninja import Schema

from .choices import Stage


class CatalogOut(Schema):
    id: int
    code: str
    name: str
    standard: str
    version: str
    effective_from: str
    active: bool
    note: str

    @staticmethod
    def resolve_effective_from(obj) -> str:
        return obj.effective_from.isoformat()


class StageLimitOut(Schema):
    stage: str
    stage_label: str
    urgency: str
    amount: float
    unit: str
    unit_label: str
    basis: str
    note: str

    @staticmethod
    def resolve_stage_label(obj) -> str:
        return str(obj.get_stage_display())

    @staticmethod
    def resolve_unit_label(obj) -> str:
        return str(obj.get_unit_display())


class MinorClassOut(Schema):
    id: int
    code: str
    full_code: str
    name: str
    kind: str
    major_code: str
    major_name: str
    default_department_kind: str
    default_department_label: str
    registration_condition: str
    closure_condition: str
    local_extension: bool

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.major.kind

    @staticmethod
    def resolve_major_code(obj) -> str:
        return obj.major.code

    @staticmethod
    def resolve_major_name(obj) -> str:
        return obj.major.name

    @staticmethod
    def resolve_default_department_label(obj) -> str:
        return str(obj.get_default_department_kind_display())


_STAGE_ORDER = {stage: i for i, stage in enumerate(Stage.values)}


class MinorClassDetailOut(MinorClassOut):
    catalog_code: str
    active: bool
    limits: list[StageLimitOut]

    @staticmethod
    def resolve_catalog_code(obj) -> str:
        return obj.major.catalog.code

    @staticmethod
    def resolve_limits(obj) -> list:
        # normal before urgent, stages in workflow order
        return sorted(obj.limits.all(), key=lambda x: (x.urgency != "normal", _STAGE_ORDER.get(x.stage, 99)))
