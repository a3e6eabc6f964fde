"""The case detail page and its actions: every action a form posting to `case_action`, which
calls the one workflow service of that action with the version the page was read at."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chengguan.cases import selectors
from chengguan.cases.choices import CaseAction, CaseStatus, PhotoKind, TaskRole
from chengguan.cases.models import Case, CasePhoto
from chengguan.catalog.choices import TimeUnit
from chengguan.core.errors import Conflict
from chengguan.core.masking import mask_name, mask_phone
from chengguan.core.permissions import access, can

from ..deadlines import open_stage, remaining
from ..forms import ACTION_FORMS


def detail_context(request, case, *, bound=None, conflict=None) -> dict:
    """Everything the detail template shows; `bound`: a submitted form to show with its errors."""
    user = request.user
    actions = selectors.allowed_actions(user, case)
    forms = []
    for action in actions:
        if bound is not None and bound.action == action:
            forms.append(bound)
        else:
            forms.append(ACTION_FORMS[action](case=case, user=user))
    stage = open_stage(case)
    photos = list(case.photos.all())
    events = list(case.events.all())
    return {
        "case": case,
        "forms": forms,
        "conflict": conflict,
        "stage": stage,
        "remaining": remaining(case.stage_deadline, unit=stage.limit_unit if stage else TimeUnit.WORK_HOUR),
        "photos_before": [p for p in photos if p.kind == PhotoKind.BEFORE],
        "photos_after": [p for p in photos if p.kind != PhotoKind.BEFORE],
        "events": [(e, _label(CaseAction, e.action), _label(CaseStatus, e.to_status)) for e in events],
        "tasks": [t for t in case.tasks.all() if t.current],
        "lead_role": TaskRole.LEAD,
        "requests": list(case.requests.all()),
        "status_display": case.get_status_display(),
        "reporter_masked": {"name": mask_name(case.reporter_name), "phone": mask_phone(case.reporter_phone)},
        "may_reveal_reporter": bool(case.reporter_name or case.reporter_phone)
        and can(user, "reveal_reporter", Case),
    }


def _label(choices, value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


@login_required
@require_GET
def case_detail(request, pk: int):
    case = selectors.access_case_page(request.user, pk)
    return render(request, "web/cases/detail.html", detail_context(request, case))


@login_required
@require_POST
def case_action(request, pk: int, action: str):
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    case = selectors.access_case_page(request.user, pk)
    form = form_class(request.POST, request.FILES, case=case, user=request.user)
    try:
        done = form.submit()
    except Conflict as exc:
        # Someone else acted first (or the case moved on): say so and show the case as it is now.
        case = selectors.access_case_page(request.user, pk)
        context = detail_context(request, case, conflict=exc.message)
        return render(request, "web/cases/detail.html", context, status=409)
    if not done:
        return render(request, "web/cases/detail.html", detail_context(request, case, bound=form), status=422)
    messages.success(request, _("已完成“%(action)s”") % {"action": form.label})
    return redirect("web:case_detail", pk=pk)


@login_required
@require_POST
def case_reporter(request, pk: int):
    """The reporter's full contact details, on request, for who may call them back (audited)."""
    contact = selectors.reporter_contact(request.user, pk)
    case = selectors.access_case_page(request.user, pk)
    return render(
        request, "web/cases/detail.html", {**detail_context(request, case), "reporter_contact": contact}
    )


@login_required
@require_GET
def case_photo(request, pk: int, photo_id: int, size: str):
    """A case photo, only for people who may see the case (photos are not public media files)."""
    photo = access(request.user, CasePhoto, photo_id)
    if photo.case_id != pk or size not in ("thumb", "full"):
        raise Http404
    name = photo.thumbnail if size == "thumb" else photo.image
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


urlpatterns = [
    path("cases/<int:pk>/", case_detail, name="case_detail"),
    path("cases/<int:pk>/act/<slug:action>/", case_action, name="case_action"),
    path("cases/<int:pk>/reporter/", case_reporter, name="case_reporter"),
    path("cases/<int:pk>/photos/<int:photo_id>/<slug:size>/", case_photo, name="case_photo"),
]
