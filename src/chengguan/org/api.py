from ninja import Router

from . import selectors
from .schemas import DepartmentOut, PersonOut, RegionOut

router = Router(tags=["org"])


@router.get("/regions", response=list[RegionOut])
def list_regions(request, level: str | None = None, parent_id: int | None = None):
    return selectors.region_list(request.user, level=level, parent_id=parent_id)


@router.get("/regions/{region_id}", response=RegionOut)
def get_region(request, region_id: int):
    return selectors.access_region(request.user, region_id)


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request, kind: str | None = None):
    return selectors.department_list(request.user, kind=kind)


@router.get("/departments/{department_id}", response=DepartmentOut)
def get_department(request, department_id: int):
    return selectors.access_department(request.user, department_id)


@router.get("/people", response=list[PersonOut])
def list_people(request, department_id: int | None = None):
    return selectors.person_list(request.user, department_id=department_id)


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request, person_id: int):
    return selectors.access_person(request.user, person_id)
