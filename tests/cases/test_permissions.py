"""Every transition is refused to the wrong role, and to the right role of another street or
department (which does not even see the case: 404)."""

import pytest

from chengguan.cases.choices import TRANSITIONS, CaseStatus
from chengguan.org.choices import DepartmentKind, Role
from chengguan.org.models import Department
from tests.conftest import make_person

from .factories import make_case

pytestmark = pytest.mark.django_db

# A state from which each action is allowed, and the body it needs.
SCENARIOS = {
    "accept": (CaseStatus.REPORTED, {}),
    "verify": (CaseStatus.VERIFYING, {}),
    "register": (CaseStatus.TO_REGISTER, {}),
    "reject": (CaseStatus.TO_REGISTER, {"reason": "不属于城管职责"}),
    "duplicate": (CaseStatus.TO_REGISTER, {"original_id": None}),
    "void": (CaseStatus.TO_DISPATCH, {"reason": "经核实不属于城管问题"}),
    "dispatch": (CaseStatus.TO_DISPATCH, {"department_id": None}),
    "sign": (CaseStatus.DISPATCHED, {}),
    "return": (CaseStatus.DISPATCHED, {"reason": "不属本部门"}),
    "handle": (CaseStatus.HANDLING, {"result": "已处理"}),
    "check_pass": (CaseStatus.TO_CHECK, {}),
    "check_fail": (CaseStatus.TO_CHECK, {"note": "未整改"}),
    "close": (CaseStatus.TO_CLOSE, {}),
    "extend_request": (CaseStatus.HANDLING, {"amount": "2", "unit": "work_day", "reason": "需采购材料"}),
    "extend_approve": (CaseStatus.HANDLING, {}),
    "extend_deny": (CaseStatus.HANDLING, {}),
    "suspend_request": (CaseStatus.HANDLING, {"planned_fix_date": "2099-01-01", "reason": "需立项"}),
    "suspend_approve": (CaseStatus.HANDLING, {}),
    "suspend_deny": (CaseStatus.HANDLING, {}),
    "write_off": (CaseStatus.SUSPENDED, {"note": "已整改"}),
    "reopen": (CaseStatus.CLOSED, {"reason": "群众再次反映"}),
    "cohandler_sign": (CaseStatus.DISPATCHED, {}),
    "cohandler_feedback": (CaseStatus.DISPATCHED, {"result": "已配合"}),
    "cohandler_release": (CaseStatus.DISPATCHED, {"task_id": None, "reason": "无需协办"}),
}

# Who may do each action in street A (the right role, right jurisdiction), and the same role
# acting for another street or another department.
RIGHT = {
    Role.INSPECTOR: "inspector_a",
    Role.OPERATOR: "operator_a",
    Role.SHIFT_LEADER: "shiftlead_a",
    Role.DISPATCHER: "dispatcher_a",
    Role.HANDLER: "handler_a",
    Role.LEADER: "leader",
}
OTHER = {
    Role.INSPECTOR: "inspector_b",
    Role.OPERATOR: "operator_b",
    Role.SHIFT_LEADER: "shiftlead_b",
    Role.DISPATCHER: "dispatcher_b",
    Role.HANDLER: "handler_c",
}


def test_every_action_has_a_scenario():
    assert set(SCENARIOS) == set(TRANSITIONS)


@pytest.fixture
def everyone(people, city):
    dept_c = Department.objects.create(code="T-C", name="园林丙", kind=DepartmentKind.LANDSCAPE)
    people["handler_c"] = make_person("handler_c", [Role.HANDLER], departments=[dept_c], department=dept_c)
    people["handler_co"] = make_person(
        "handler_co", [Role.HANDLER], departments=[city.dept_b], department=city.dept_b
    )
    return people


def prepare(action, city, people):
    status, body = SCENARIOS[action]
    co = city.dept_b if action.startswith("cohandler") else None
    case = make_case(
        city,
        people,
        status,
        cohandler=co,
        source="hotline" if status == CaseStatus.VERIFYING else "inspector",
    )
    body = dict(body)
    if action == "duplicate":
        body["original_id"] = make_case(city, people).pk
    if action == "dispatch":
        body["department_id"] = city.dept_a.pk
    if action == "cohandler_release":
        body["task_id"] = case.tasks.get(role="co").pk
    if action in ("extend_approve", "extend_deny"):
        from chengguan.cases import services

        services.case_request_extension(
            people["handler_a"], case.pk, version=case.version, amount=1, unit="work_day", reason="材料"
        )
    if action in ("suspend_approve", "suspend_deny"):
        import datetime as dt

        from chengguan.cases import services

        services.case_request_suspension(
            people["handler_a"],
            case.pk,
            version=case.version,
            planned_fix_date=dt.date(2099, 1, 1),
            reason="立项",
        )
    case.refresh_from_db()
    body["version"] = case.version
    return case, body


def actor_for(action, role):
    if action.startswith("cohandler") and role == Role.HANDLER:
        return "handler_co"
    return RIGHT[role]


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_action_is_refused_to_wrong_roles_and_other_jurisdictions(action, city, everyone, client_for):
    rule = TRANSITIONS[action]
    case, body = prepare(action, city, everyone)
    url = f"/api/v1/cases/{case.pk}/{action}"
    # Wrong roles (the personas of street A or city-wide who lack every role the action needs).
    wrong = {name for role, name in RIGHT.items() if role not in rule.roles}
    wrong |= {"sysadmin", "secadmin", "auditor", "outsider"}
    for name in sorted(wrong):
        if action.startswith("cohandler") and name == "handler_a":
            continue  # the lead department's handler is not a co-handler: covered below
        r = client_for(everyone[name]).post(url, body, content_type="application/json")
        assert r.status_code in (403, 404), (action, name, r.status_code, r.content)
    # The right role acting for another street or department does not see the case.
    for role in rule.roles:
        if role in OTHER:
            r = client_for(everyone[OTHER[role]]).post(url, body, content_type="application/json")
            assert r.status_code == 404, (action, OTHER[role], r.status_code, r.content)
    case.refresh_from_db()
    assert case.version == body["version"], "a refused action must change nothing"
    # And the right person succeeds (so the refusals above are not an accident of the setup).
    right = actor_for(action, sorted(rule.roles)[0])
    r = client_for(everyone[right]).post(url, body, content_type="application/json")
    assert r.status_code == 200, (action, right, r.content)
