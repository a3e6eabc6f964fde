from ninja import Router

from chengguan.core.schemas import Int64, errors

from . import selectors
from .schemas import DepartmentOut, PersonOut, RegionOut

router = Router(tags=["org"])
# Lists show what is in the jurisdiction (never a 403); one record outside it is a 404.
LIST = errors(401, 422)
ONE = errors(401, 404, 422)


@router.get("/regions", response={200: list[RegionOut], **LIST})
def list_regions(request, level: str | None = None, parent_id: Int64 | None = None):
    return selectors.region_list(request.user, level=level, parent_id=parent_id)


@router.get("/regions/{region_id}", response={200: RegionOut, **ONE})
def get_region(request, region_id: Int64):
    return selectors.access_region(request.user, region_id)


@router.get("/departments", response={200: list[DepartmentOut], **LIST})
def list_departments(request, kind: str | None = None):
    return selectors.department_list(request.user, kind=kind)


@router.get("/departments/{department_id}", response={200: DepartmentOut, **ONE})
def get_department(request, department_id: Int64):
    return selectors.access_department(request.user, department_id)


@router.get("/people", response={200: list[PersonOut], **LIST})
def list_people(request, department_id: Int64 | None = None):
    return selectors.person_list(request.user, department_id=department_id)


@router.get("/people/{person_id}", response={200: PersonOut, **ONE})
def get_person(request, person_id: Int64):
    return selectors.access_person(request.user, person_id)
