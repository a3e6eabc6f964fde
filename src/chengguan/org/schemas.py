from ninja import Schema


class RegionOut(Schema):
    id: int
    level: str
    kind: str
    code: str
    name: str
    parent_id: int | None
    area_m2: float | None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    region_id: int | None


class PersonOut(Schema):
    id: int
    username: str
    full_name: str
    department_id: int | None
    roles: list[str]

    @staticmethod
    def resolve_roles(obj) -> list[str]:
        return sorted(obj.role_codes())
