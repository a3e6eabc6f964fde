"""The permission matrix: every page, API operation and Open311 resource, with the answer each
subject gets — every role of the role table, a person with no role, and anonymous — on an object
in the subject's own jurisdiction and on one in another (tests/security/test_permission_matrix.py
runs it and fails on any URL without a row, and on any row naming a URL that no longer exists).

How to read a row: `allow` says which subjects may use the URL, as the role table states it
(`has(...)`: the permissions `core.permissions.GRANTS` gives a role; `transition(...)`: the roles
of `cases.choices.TRANSITIONS`; `roles(...)`: a hand-written list of roles where a page is a role's
own page). Then:

* anonymous gets `anonymous` (302 to the login page for pages, 401 for the API);
* an allowed subject gets `ok` on its own jurisdiction's object, and `other` (404: the object does
  not exist for them) on another jurisdiction's, unless it acts for the whole city or the object's
  model is a shared registry (`global_read`), in which case `ok` again;
* a subject that is not allowed gets `denied` (403, or 404 where the page hides itself); when the
  object is looked up before the role is checked (`lookup_first`), a subject that does not even see
  the object gets 404 rather than 403 — existence is never confirmed outside a jurisdiction.

Every persona of the matrix acts for street A (the handler: for department A; the three
administrators, as their job has it, for the whole city); "own" objects are in street A /
department A, "other" objects in street B / department B.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps

from chengguan.cases.choices import TRANSITIONS
from chengguan.cases.selectors import DESK_QUEUES
from chengguan.core.permissions import GRANTS, policy_for
from chengguan.evaluation.choices import ObjectType
from chengguan.org.choices import Role

ANONYMOUS = "anonymous"
NO_ROLE = "no_role"
SUBJECTS: tuple[str, ...] = (ANONYMOUS, NO_ROLE, *Role.values)
OWN, OTHER = "own", "other"
# The administrators (三权分立) act for the whole city and are staff (the admin site).
CITYWIDE = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})
STAFF = CITYWIDE

# The kinds of object a URL can name, and their model (for "does the subject see it").
KINDS: dict[str, str] = {
    "case": "cases.Case",
    "photo": "cases.CasePhoto",
    "region": "org.Region",
    "street": "org.Region",
    "department": "org.Department",
    "person": "org.Person",
    "grid": "grid.UnitGrid",
    "plan": "assessment.AssessmentPlan",
    "record": "assessment.AssessmentRecord",
    "finding": "assessment.Finding",
    "fphoto": "assessment.FindingPhoto",
}


def grants(subject: str) -> frozenset[str]:
    return GRANTS.get(subject, frozenset())


def has(*perms: str) -> Callable[[str], bool]:
    return lambda s: all(p in grants(s) for p in perms)


def roles(*names: str) -> Callable[[str], bool]:
    return lambda s: s in names


def both(*rules: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda s: all(rule(s) for rule in rules)


def everyone(subject: str) -> bool:
    return True


def transition(action: str) -> Callable[[str], bool]:
    return lambda s: s in TRANSITIONS[action].roles


# The handler acts for a department, not for a place: records placed only by region (regions,
# grids) are outside its jurisdiction, own street or not.
DEPARTMENT_ONLY = frozenset({Role.HANDLER})
PLACES = frozenset({"region", "street", "grid"})


def sees(subject: str, kind: str, where: str) -> bool:
    """Whether the subject finds the object: its role grants the view permission, and the object is
    in its jurisdiction (own), or it acts for the whole city, or the model is a shared registry."""
    model = apps.get_model(KINDS[kind])
    if f"{model._meta.app_label}.view_{model._meta.model_name}" not in grants(subject):
        return False
    if subject in CITYWIDE or policy_for(model).global_read:
        return True
    if subject in DEPARTMENT_ONLY and kind in PLACES:
        return False
    return where == OWN


@dataclass(frozen=True)
class Row:
    """One URL × method (× variant: an action, a queue, a tab) and the answer of every subject."""

    target: str  # the URL name ("web:case_detail"), the route of an unnamed one, or "METHOD /api/…"
    method: str
    path: str  # the URL, with {placeholders} filled from the test's objects (own or other)
    allow: Callable[[str], bool]
    ok: int | Callable[[str], int] = 200
    denied: int = 404
    anonymous: int = 302
    obj: str | None = None
    lookup_first: bool = True
    other: int = 404
    data: Callable | None = None  # (values) → the body
    content: str = "form"  # form (multipart, as a browser posts a form) | json | urlencoded
    variant: str = ""
    shows: str | None = None  # the kind of object the answer lists (own/other shown iff seen)
    per_where: bool = False  # the list is asked for one jurisdiction at a time (its URL names it)
    note: str = ""
    subjects: tuple[str, ...] = SUBJECTS  # who is tried (a page without login: a sample)

    @property
    def id(self) -> str:
        name = self.target if self.target.startswith(f"{self.method} ") else f"{self.method} {self.target}"
        return name + (f"[{self.variant}]" if self.variant else "")

    def wheres(self, subject: str) -> tuple[str, ...]:
        """Where the subject is tried: its own jurisdiction, and another one when the URL names an
        object the subject finds in its own (for anyone else both answers are the same refusal)."""
        if subject == ANONYMOUS:
            return (OWN,)
        if self.per_where or (self.obj is not None and sees(subject, self.obj, OWN)):
            return (OWN, OTHER)
        return (OWN,)

    def expected(self, subject: str, where: str) -> int:
        if subject == ANONYMOUS:
            return self.anonymous
        if self.allow(subject):
            if self.obj is not None and not sees(subject, self.obj, where):
                return self.other
            return self.ok(subject) if callable(self.ok) else self.ok
        if self.obj is not None and self.lookup_first and not sees(subject, self.obj, where):
            return 404
        return self.denied


def page(name, path, allow, method="GET", **kw) -> Row:
    """A page behind the login: anonymous is sent to the login page."""
    return Row(name, method, path, allow, **kw)


# A page without login answers everyone alike: it is tried as anonymous, as a person without a
# role, as a member of staff and as an administrator.
PUBLIC_SUBJECTS = (ANONYMOUS, NO_ROLE, Role.INSPECTOR, Role.SYSTEM_ADMIN)


def public(name, path, method="GET", ok=200, **kw) -> Row:
    """A page or resource without login: the same answer for everyone, anonymous included."""
    return Row(name, method, path, everyone, ok=ok, anonymous=ok, subjects=PUBLIC_SUBJECTS, **kw)


def api(method, route, allow, ok=200, denied=403, content="json", **kw) -> Row:
    """An API operation (its OpenAPI method and path): anonymous gets 401."""
    path = route.format_map(_API_PLACEHOLDERS)
    return Row(
        f"{method} {route}", method, path, allow, ok=ok, denied=denied, anonymous=401, content=content, **kw
    )


# An API path's parameters → the test's placeholders.
_API_PLACEHOLDERS = {
    "case_id": "{case}",
    "action": "{variant}",
    "region_id": "{region}",
    "department_id": "{department}",
    "person_id": "{person}",
    "grid_id": "{grid}",
    "class_id": "{minor_class}",
    "record_id": "{record}",
    "item_id": "{item}",
    "finding_id": "{finding}",
}

# --- the bodies of the writes ---------------------------------------------------------------------------


def _transition_body(v, prefix=""):
    """A transition's fields, all filled, with a version the case no longer has: the service checks
    visibility (404), then the role (403), then the version (409), so a 409 proves the permission
    passed — and nothing is written."""
    fields = {
        "version": v.stale_version,
        "note": "矩阵",
        "reason": "矩阵",
        "result": "矩阵",
        "amount": "1",
        "unit": "work_day",
        "planned_fix_date": "2099-01-01",
        "original": v.original_number,
        "task": v.co_task,
    }
    return {f"{prefix}{k}": val for k, val in fields.items()}


def _first_action(role: str) -> str | None:
    return min((a for a, t in TRANSITIONS.items() if role in t.roles), default=None)


# The actions tried on the entry points that share the case page's forms and the API's service
# calls (a row of a list, the API with photos): one action of each role of the transition table.
SAMPLE_ACTIONS = sorted({a for a in map(_first_action, Role.values) if a})


def _api_transition_body(v):
    return {
        "version": v.stale_version,
        "note": "矩阵",
        "reason": "矩阵",
        "result": "矩阵",
        "amount": "1",
        "unit": "work_day",
        "planned_fix_date": "2099-01-01",
        "original_id": v.original_id,
        "task_id": v.co_task,
    }


def _case_in(source):
    """A report without a description: a subject that may report from the source gets 422 (the
    missing description), anyone else 403."""
    return lambda v: {
        "source": source,
        "minor_class_id": v.minor_class,
        "description": "",
        "lon": v.lon,
        "lat": v.lat,
    }


# --- the rows --------------------------------------------------------------------------------------------

VIEW_CASE = has("cases.view_case")
WORKFLOW_ROLES = (
    Role.INSPECTOR,
    Role.OPERATOR,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.HANDLER,
    Role.LEADER,
)
DESK_ROLES = (Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER)
COMMAND_ROLES = (Role.LEADER, Role.SHIFT_LEADER, Role.DISPATCHER, Role.OPERATOR)
LEDGER_ROLES = (Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.HANDLER)
INSPECTOR_PAGE = both(roles(Role.INSPECTOR), VIEW_CASE)
ASSESSOR_PAGE = both(roles(Role.ASSESSOR), has("assessment.add_assessmentrecord"))
EVALUATION = has("evaluation.view_snapshotscore", "evaluation.view_snapshotfigure")
SCORES = has("assessment.view_score_assessmentrecord")
PLANS = has("assessment.add_assessmentplan")
# The plans page is the rectification office's (the system administrator keeps plans in the admin).
PLANS_PAGE = both(roles(Role.RECTIFICATION), PLANS)


def _landing(subject: str) -> int:
    """Every role lands on its page (302); a person with no role sees "no workbench" (200)."""
    return 200 if subject == NO_ROLE else 302


def _queue_allows(queue, subject) -> bool:
    """A desk queue: a desk role that may take one of its actions (TRANSITIONS), or follows it."""
    return subject in DESK_ROLES and (
        any(subject in TRANSITIONS[a].roles for a in queue.actions) or subject in queue.watch_roles
    )


@dataclass(frozen=True)
class BulkRow(Row):
    """A desk queue's bulk action: the queue hides itself from who may not use it (404); a queue
    without a bulk action, or a role without that action (TRANSITIONS), is refused (403); an empty
    selection goes back to the queue (302)."""

    def expected(self, subject: str, where: str) -> int:
        if subject == ANONYMOUS:
            return self.anonymous
        queue = next(q for q in DESK_QUEUES if q.key == self.variant)
        if not _queue_allows(queue, subject):
            return 404
        return 302 if queue.bulk is not None and subject in TRANSITIONS[queue.bulk].roles else 403


def _desk_rows() -> list[Row]:
    rows = [
        page("web:desk", "/desk/", lambda s: any(_queue_allows(q, s) for q in DESK_QUEUES), ok=302),
    ]
    for q in DESK_QUEUES:
        rows.append(
            page("web:desk_queue", f"/desk/{q.key}/", lambda s, q=q: _queue_allows(q, s), variant=q.key)
        )
        rows.append(
            BulkRow(
                "web:desk_bulk", "POST", f"/desk/{q.key}/bulk/", everyone, variant=q.key, data=lambda v: {}
            )
        )
    return rows


def _transition_rows() -> list[Row]:
    rows = []
    for action in sorted(TRANSITIONS):
        allow = transition(action)
        rows.append(
            page(
                "web:case_action",
                "/cases/{case}/act/{variant}/",
                allow,
                method="POST",
                ok=409,
                denied=403,
                obj="case",
                variant=action,
                data=lambda v, a=action: _transition_body(v, f"{a}-"),
            )
        )
        rows.append(
            api(
                "POST",
                "/api/v1/cases/{case_id}/{action}",
                allow,
                ok=409,
                obj="case",
                variant=action,
                data=_api_transition_body,
            )
        )
        if action in SAMPLE_ACTIONS:
            rows.append(
                page(
                    "web:row_action",
                    "/work/cases/{case}/{variant}/",
                    allow,
                    method="POST",
                    ok=409,
                    denied=403,
                    obj="case",
                    variant=action,
                    data=_transition_body,
                )
            )
            rows.append(
                api(
                    "POST",
                    "/api/v1/cases/{case_id}/{action}/with-photos",
                    allow,
                    ok=409,
                    obj="case",
                    variant=action,
                    data=_api_transition_body,
                    content="multipart",
                )
            )
    return rows


def _evaluation_rows() -> list[Row]:
    rows = []
    for kind, object_type in [
        ("street", ObjectType.STREET),
        ("grid", ObjectType.GRID),
    ]:
        rows += [
            page(
                "web:evaluation_object",
                f"/evaluation/{object_type}/{{{kind}}}/",
                EVALUATION,
                obj=kind,
                variant=object_type,
            ),
            page(
                "web:evaluation_figure",
                f"/evaluation/{object_type}/{{{kind}}}/registered/",
                EVALUATION,
                obj=kind,
                variant=object_type,
            ),
        ]
    return rows


PAGES: list[Row] = [
    # --- logging in and the account ---------------------------------------------------------------
    Row("web:login", "GET", "/login/", everyone, ok=302, anonymous=200, note="logged in: on to the landing"),
    page("web:login_otp", "/login/otp/", everyone, ok=302, note="no code owed: on to the landing"),
    page("web:two_factor", "/account/two-factor/", everyone),
    page("web:password_change", "/account/password/", everyone),
    Row("web:logout", "POST", "/logout/", everyone, ok=302, anonymous=302),
    Row(
        "set_language",
        "POST",
        "/i18n/setlang/",
        everyone,
        ok=302,
        anonymous=302,
        data=lambda v: {"language": "en"},
    ),
    # --- landing and workbenches ---------------------------------------------------------------------
    page("web:landing", "/", everyone, ok=_landing),
    *[
        page(
            "web:workbench",
            f"/workbench/{role}/",
            both(roles(role), VIEW_CASE) if role in WORKFLOW_ROLES else roles(),
            variant=role,
        )
        for role in Role.values
    ],
    # --- cases --------------------------------------------------------------------------------------------
    page("web:case_detail", "/cases/{case}/", VIEW_CASE, obj="case"),
    page(
        "web:case_reporter",
        "/cases/{case}/reporter/",
        has("cases.reveal_reporter_case"),
        method="POST",
        denied=403,
        obj="case",
    ),
    page("web:case_photo", "/cases/{case}/photos/{photo}/thumb/", has("cases.view_casephoto"), obj="photo"),
    page("web:map_boundaries", "/map/boundaries.geojson?level=street", everyone, shows="region"),
    page("web:map_cases", "/map/cases.geojson", everyone, shows="case"),
    # --- the inspector's pages --------------------------------------------------------------------------
    page("web:inspector_tasks", "/inspector/", INSPECTOR_PAGE, denied=403),
    page("web:inspector_report", "/inspector/report/", INSPECTOR_PAGE, denied=403),
    page(
        "web:inspector_report",
        "/inspector/report/",
        INSPECTOR_PAGE,
        method="POST",
        ok=422,
        denied=403,
        data=lambda v: {},
        note="an empty report: the inspector gets the form's errors",
    ),
    page("web:inspector_reports", "/inspector/reports/", INSPECTOR_PAGE, denied=403),
    page("web:inspector_classes", "/inspector/classes.json?q=垃圾", INSPECTOR_PAGE, denied=403),
    # --- the public pages (no login) --------------------------------------------------------------------
    public("web:public_report", "/public/report/"),
    public("web:public_report", "/public/report/", method="POST", ok=422, data=lambda v: {}),
    public("web:public_report_done", "/public/report/done/", ok=302),
    public("web:public_classes", "/public/classes.json?q=垃圾"),
    public("web:public_lookup", "/public/lookup/"),
    public("web:public_lookup", "/public/lookup/", method="POST", ok=422, data=lambda v: {}),
    public("web:public_map", "/public/map/"),
    public("web:public_cases", "/public/cases.geojson"),
    public("web:public_boundaries", "/public/boundaries.geojson"),
    # --- the desk, the department inbox, the command wall, the ledger -----------------------------
    *_desk_rows(),
    page("web:department", "/department/", everyone, ok=302, note="on to the inbox, which checks"),
    *[
        page(
            "web:department_inbox",
            f"/department/{tab}/",
            both(roles(Role.HANDLER), VIEW_CASE),
            variant=tab,
        )
        for tab in ("to_sign", "handling", "cohandling")
    ],
    page("web:command", "/command/", both(roles(*COMMAND_ROLES), VIEW_CASE)),
    *[
        page(
            "web:command_panel",
            f"/command/panels/{name}/",
            both(roles(*COMMAND_ROLES), VIEW_CASE),
            variant=name,
        )
        for name in ("figures", "departments", "events")
    ],
    page("web:ledger", "/ledger/", both(roles(*LEDGER_ROLES), VIEW_CASE), shows="case"),
    page("web:ledger_export", "/ledger/export.xlsx", both(roles(*LEDGER_ROLES), VIEW_CASE)),
    # --- grids and evaluation -----------------------------------------------------------------------------
    page("web:grids", "/grids/", has("grid.view_unitgrid", "cases.view_case")),
    page("web:grid_detail", "/grids/{grid}/", has("grid.view_unitgrid", "cases.view_case"), obj="grid"),
    page("web:evaluation", "/evaluation/", EVALUATION),
    page("web:evaluation_report_xlsx", "/evaluation/report.xlsx", EVALUATION),
    page("web:evaluation_report_pdf", "/evaluation/report.pdf", EVALUATION),
    *_evaluation_rows(),
    # --- grid assessment ------------------------------------------------------------------------------------
    page("web:assessment_plans", "/assessment/", ASSESSOR_PAGE, denied=403),
    page(
        "web:assessment_start",
        "/assessment/plans/{plan}/start/",
        ASSESSOR_PAGE,
        method="POST",
        ok=302,
        denied=403,
        obj="plan",
        lookup_first=False,
        data=lambda v: {"grid": v.plan_grid},
    ),
    page(
        "web:assessment_record",
        "/assessment/records/{record}/",
        has("assessment.view_assessmentrecord"),
        obj="record",
    ),
    page(
        "web:assessment_tick",
        "/assessment/records/{record}/items/{item}/",
        ASSESSOR_PAGE,
        method="POST",
        ok=302,
        denied=403,
        obj="record",
        lookup_first=False,
        data=lambda v: {},
    ),
    page(
        "web:assessment_untick",
        "/assessment/records/{record}/items/{item}/remove/",
        ASSESSOR_PAGE,
        method="POST",
        ok=302,
        denied=403,
        obj="record",
        lookup_first=False,
    ),
    page(
        "web:assessment_submit",
        "/assessment/records/{record}/submit/",
        ASSESSOR_PAGE,
        method="POST",
        ok=302,
        denied=403,
        obj="record",
        lookup_first=False,
    ),
    page(
        "web:assessment_report",
        "/assessment/findings/{finding}/case/",
        has("assessment.report_finding"),
        method="POST",
        ok=302,
        denied=403,
        obj="finding",
    ),
    page(
        "web:assessment_photo",
        "/assessment/photos/{fphoto}/thumb/",
        has("assessment.view_findingphoto"),
        obj="fphoto",
    ),
    page("web:assessment_scores", "/assessment/scores/", SCORES, denied=403),
    page("web:assessment_plan_list", "/assessment/plans/", PLANS_PAGE, denied=403, shows="plan"),
    page(
        "web:assessment_plan_list",
        "/assessment/plans/",
        PLANS_PAGE,
        method="POST",
        ok=422,
        denied=403,
        data=lambda v: {},
        note="an empty plan: the office gets the form's errors",
    ),
    # --- the API's own pages -------------------------------------------------------------------------------
    public("api:openapi-json", "/api/v1/openapi.json"),
    public("api:openapi-view", "/api/v1/docs"),
    public("api:api-root", "/api/v1/", ok=404),
    public("api/docs", "/api/docs", ok=302),
    public("api/openapi.json", "/api/openapi.json", ok=302),
    # --- Open311 GeoReport v2: the session confers nothing; a POST needs an api_key -------------------
    public("open311:discovery", "/open311/v2/discovery.json"),
    public("open311:services", "/open311/v2/services.json"),
    public("open311:service", "/open311/v2/services/{service_code}.json"),
    public("open311:requests", "/open311/v2/requests.json"),
    public(
        "open311:requests",
        "/open311/v2/requests.json",
        method="POST",
        ok=403,
        data=lambda v: {"service_code": v.service_code},
        content="urlencoded",
        note="no api_key",
    ),
    public(
        "open311:request", "/open311/v2/requests/{number}.json", ok=404, note="a staff case is not published"
    ),
    public("open311:token", "/open311/v2/tokens/abc.json", ok=404),
    public("^(?P<path>.*)$", "/open311/v2/nothing-here", ok=404),
]

API: list[Row] = [
    # --- org: lists are filtered (everyone gets 200, with what they see); one record needs its view
    api("GET", "/api/v1/org/regions", everyone, shows="region"),
    api(
        "GET",
        "/api/v1/org/regions/{region_id}",
        has("org.view_region"),
        obj="region",
        lookup_first=True,
        denied=404,
    ),
    api("GET", "/api/v1/org/departments", everyone),
    api(
        "GET",
        "/api/v1/org/departments/{department_id}",
        has("org.view_department"),
        obj="department",
        denied=404,
    ),
    api("GET", "/api/v1/org/people", everyone, shows="person"),
    api("GET", "/api/v1/org/people/{person_id}", has("org.view_person"), obj="person", denied=404),
    # --- grid and catalogue ---------------------------------------------------------------------------------
    api("GET", "/api/v1/grid/locate", everyone, note="?lon&lat", variant="", data=None),
    api("GET", "/api/v1/grid/grids", everyone, shows="grid", per_where=True, note="?street_id"),
    api("GET", "/api/v1/grid/grids/{grid_id}", has("grid.view_unitgrid"), obj="grid", denied=404),
    api("GET", "/api/v1/catalog/active", has("catalog.view_catalog"), denied=404),
    api("GET", "/api/v1/catalog/classes", everyone),
    api("GET", "/api/v1/catalog/classes/{class_id}", has("catalog.view_minorclass"), denied=404),
    # --- cases ------------------------------------------------------------------------------------------------
    api("GET", "/api/v1/cases/", everyone, shows="case"),
    # A staff source is reported by its roles (an inspector's report by an inspector); any report
    # by a person needs the role table's `cases.report_case` (public reports come from the public
    # pages and Open311, without a person).
    api(
        "POST",
        "/api/v1/cases/",
        roles(Role.INSPECTOR),
        ok=422,
        data=_case_in("inspector"),
        variant="inspector",
    ),
    api(
        "POST", "/api/v1/cases/", has("cases.report_case"), ok=422, data=_case_in("public"), variant="public"
    ),
    api(
        "POST",
        "/api/v1/cases/with-photos",
        roles(Role.INSPECTOR),
        ok=422,
        data=_case_in("inspector"),
        content="multipart",
        variant="inspector",
    ),
    api(
        "POST",
        "/api/v1/cases/with-photos",
        has("cases.report_case"),
        ok=422,
        data=_case_in("public"),
        content="multipart",
        variant="public",
    ),
    api("GET", "/api/v1/cases/ledger", everyone, shows="case"),
    api("GET", "/api/v1/cases/ledger.xlsx", everyone),
    api("GET", "/api/v1/cases/{case_id}", VIEW_CASE, obj="case", denied=404),
    # --- notifications: a person's own inbox ------------------------------------------------------------------
    api("GET", "/api/v1/notify/inbox", everyone),
    api("POST", "/api/v1/notify/inbox/read", everyone, data=lambda v: {"all": True}),
    # --- evaluation ------------------------------------------------------------------------------------------
    api("GET", "/api/v1/evaluation/indicators", EVALUATION, note="?object_type&period"),
    api("GET", "/api/v1/evaluation/rankings", EVALUATION, note="?object_type&period"),
    api(
        "GET", "/api/v1/evaluation/drilldown", EVALUATION, obj="street", lookup_first=False, note="?object_id"
    ),
    api("GET", "/api/v1/evaluation/snapshots", has("evaluation.view_snapshot")),
    api(
        "POST",
        "/api/v1/evaluation/snapshots",
        has("evaluation.publish_snapshot"),
        ok=409,
        data=lambda v: {"period": "2099-01"},
        note="a period not yet finished: refused after the role passed",
    ),
    api(
        "POST",
        "/api/v1/evaluation/snapshots/recompute",
        has("evaluation.recompute_snapshot"),
        ok=409,
        data=lambda v: {"period": "2099-01", "reason": "矩阵"},
        note="a period never published: refused after the role passed",
    ),
    # --- grid assessment ------------------------------------------------------------------------------------
    api("GET", "/api/v1/assessment/checklists", everyone),
    api("GET", "/api/v1/assessment/plans", everyone, shows="plan"),
    api(
        "POST",
        "/api/v1/assessment/plans",
        has("assessment.add_assessmentplan"),
        ok=422,
        data=lambda v: {
            "name": "",
            "team_id": v.team,
            "checklist_id": v.checklist,
            "first_day": "2026-01-01",
            "last_day": "2026-01-02",
        },
        note="no name: refused after the role passed",
    ),
    api(
        "POST",
        "/api/v1/assessment/records",
        has("assessment.add_assessmentrecord"),
        obj="plan",
        lookup_first=False,
        data=lambda v: {"plan_id": v.plan, "grid_id": v.plan_grid},
        note="the open record of that grid is given back",
    ),
    api(
        "GET",
        "/api/v1/assessment/records/{record_id}",
        has("assessment.view_assessmentrecord"),
        obj="record",
        denied=404,
    ),
    api(
        "POST",
        "/api/v1/assessment/records/{record_id}/findings",
        has("assessment.add_finding"),
        obj="record",
        lookup_first=False,
        data=lambda v: {"item_id": v.item, "note": "矩阵"},
        content="multipart",
    ),
    api(
        "DELETE",
        "/api/v1/assessment/records/{record_id}/findings/{item_id}",
        has("assessment.delete_finding"),
        obj="record",
        lookup_first=False,
    ),
    api(
        "POST",
        "/api/v1/assessment/records/{record_id}/submit",
        has("assessment.change_assessmentrecord"),
        obj="record",
        lookup_first=False,
        data=lambda v: {},
    ),
    api(
        "POST",
        "/api/v1/assessment/findings/{finding_id}/case",
        has("assessment.report_finding"),
        ok=201,
        obj="finding",
        lookup_first=False,
        data=lambda v: {},
    ),
    api("GET", "/api/v1/assessment/scores", SCORES, note="?level&period"),
]

ROWS: list[Row] = PAGES + _transition_rows() + API

# The admin site is one group with its own rule, from the same role table: the index for staff
# (the administrators), a model's list for staff whose role grants its view or change permission
# (403 otherwise); everyone else is sent to the admin login.
ADMIN_NAMESPACE = "admin"

# Query strings the API operations need (parameters, not permissions).
QUERIES: dict[str, str] = {
    "GET /api/v1/grid/locate": "lon={lon}&lat={lat}",
    "GET /api/v1/evaluation/indicators": "object_type=street&period={month}",
    "GET /api/v1/evaluation/rankings": "object_type=street&period={month}",
    "GET /api/v1/evaluation/drilldown": "object_type=street&object_id={street}&period={month}&indicator=registered",
    "GET /api/v1/assessment/scores": "level=street&period={month}",
    "GET /api/v1/grid/grids": "street_id={street}&limit=50",
    "GET /api/v1/evaluation/snapshots": "period={month}",
}
