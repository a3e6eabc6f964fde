from ninja import Query, Router

from chengguan.core.schemas import Int64, errors

from . import selectors
from .choices import ClassKind
from .schemas import CatalogOut, MinorClassDetailOut, MinorClassOut

router = Router(tags=["catalog"])


@router.get("/active", response={200: CatalogOut, **errors(401, 404)})
def get_active_catalog(request):
    return selectors.access_active_catalog(request.user)


@router.get("/classes", response={200: list[MinorClassOut], **errors(401, 422)})
def search_classes(request, q: str = Query("", max_length=50), kind: ClassKind | None = None):
    return selectors.minor_class_search(request.user, q, kind)


@router.get("/classes/{class_id}", response={200: MinorClassDetailOut, **errors(401, 404, 422)})
def get_class(request, class_id: Int64):
    return selectors.access_minor_class(request.user, class_id)
