from ninja import Query, Router

from . import selectors
from .choices import ClassKind
from .schemas import CatalogOut, MinorClassDetailOut, MinorClassOut

router = Router(tags=["catalog"])


@router.get("/active", response=CatalogOut)
def get_active_catalog(request):
    return selectors.access_active_catalog(request.user)


@router.get("/classes", response=list[MinorClassOut])
def search_classes(request, q: str = Query("", max_length=50), kind: ClassKind | None = None):
    return selectors.minor_class_search(request.user, q, kind)


@router.get("/classes/{class_id}", response=MinorClassDetailOut)
def get_class(request, class_id: int):
    return selectors.access_minor_class(request.user, class_id)
