from ninja import Schema


class PlaceOut(Schema):
    id: int
    code: str
    name: str | None = None


class LocationOut(Schema):
    lon: float
    lat: float
    inside: bool
    grid: PlaceOut | None
    community: PlaceOut | None
    street: PlaceOut | None
    district: PlaceOut | None
    message: str | None


class UnitGridOut(Schema):
    id: int
    code: str
    community_id: int
    street_id: int
    district_id: int
    area_m2: float


class UnitGridDetailOut(UnitGridOut):
    geometry: dict
    responsible: list[dict]

    @staticmethod
    def resolve_responsible(obj) -> list[dict]:
        return [{"person_id": d.person_id, "name": str(d.person), "duty": d.duty} for d in obj.duties.all()]
