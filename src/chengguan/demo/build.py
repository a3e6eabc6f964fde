"""Build the demo city: boundaries, generated unit grids, departments, people, catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction

from chengguan.grid import services as grid_services
from chengguan.grid.models import GridResponsibility, UnitGrid
from chengguan.org.choices import DepartmentKind, GridDuty, RegionKind, RegionLevel, Role
from chengguan.org.models import Department, Person, Region, RoleGrant

from .city import synthesize

DEMO_PASSWORD = "Chengguan#2026"
DISTRICT_CODE = "430199"

LINE_DEPARTMENTS = [
    ("police", "清源公安分局", DepartmentKind.POLICE),
    ("housing", "清源区住房和城乡建设局", DepartmentKind.HOUSING),
    ("landscape", "清源区园林绿化中心", DepartmentKind.LANDSCAPE),
    ("sanitation", "清源区环境卫生管理处", DepartmentKind.SANITATION),
    ("water", "清源区水务局", DepartmentKind.WATER),
    ("power", "国网清源供电公司", DepartmentKind.POWER),
    ("telecom", "清源电信分公司", DepartmentKind.TELECOM),
    ("gas", "清源燃气有限公司", DepartmentKind.GAS),
    ("transport", "清源区交通运输局", DepartmentKind.TRANSPORT),
    ("market", "清源区市场监督管理局", DepartmentKind.MARKET),
    ("cleaning", "清源环境服务有限公司（保洁外包）", DepartmentKind.CONTRACTOR),
    ("ads", "清源市容服务有限公司（牛皮癣清除外包）", DepartmentKind.CONTRACTOR),
]

STREET_ROLES = [
    ("inspector", Role.INSPECTOR, "监督员"),
    ("operator", Role.OPERATOR, "受理员"),
    ("shiftlead", Role.SHIFT_LEADER, "值班长"),
    ("dispatcher", Role.DISPATCHER, "派遣员"),
    ("handler", Role.HANDLER, "处置人员"),
    ("leader", Role.LEADER, "领导"),
]

SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
]


@dataclass
class DemoResult:
    built: bool
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def _name(k: int) -> str:
    return SURNAMES[k % len(SURNAMES)] + GIVEN[(k * 7) % len(GIVEN)]


_HASH: list[str] = []


def _demo_password_hash() -> str:
    # Hashing is deliberately slow; the demo's people share one password, so hash it once.
    if not _HASH:
        _HASH.append(make_password(DEMO_PASSWORD))
    return _HASH[0]


def _person(
    username: str,
    full_name: str,
    roles,
    *,
    department=None,
    regions=(),
    departments=(),
    citywide=False,
    is_staff=False,
) -> Person:
    person = Person(
        username=username,
        full_name=full_name,
        department=department,
        citywide=citywide,
        is_staff=is_staff,
        password=_demo_password_hash(),
    )
    person.save()
    person.roles.set(RoleGrant.objects.filter(role__in=roles))
    if regions:
        person.regions.set(regions)
    if departments:
        person.departments.set(departments)
    return person


def _demo_assessment(bureau, centre, streets, assessor_name: str, office_name: str) -> None:
    """Grid assessment (网格化检查考核): the reference checklist and weights, an assessment team
    member and the rectification office (整治办), and a plan over the first street running now."""
    import datetime as dt

    from django.utils import timezone

    from chengguan.assessment import services as assessment
    from chengguan.assessment.models import AssessmentTeam, Checklist

    assessment.load_config()
    district = streets[0].parent
    assessor = _person(
        "assessor", "考核员" + assessor_name, [Role.ASSESSOR], department=bureau, regions=[district]
    )
    office = _person(
        "rectification", "整治办" + office_name, [Role.RECTIFICATION], department=centre, citywide=True
    )
    team = AssessmentTeam.objects.create(name="区考核组", region=district, leader=assessor)
    team.members.set([assessor])
    today = timezone.localdate()
    assessment.plan_create(
        office,
        name=f"{today:%Y年%m月}网格检查考核",
        team_id=team.pk,
        checklist_id=Checklist.objects.get(code="GRID-REF").pk,
        first_day=today - dt.timedelta(days=7),
        last_day=today + dt.timedelta(days=30),
        region_ids=[streets[0].pk],
    )


def logins() -> list[tuple[str, str, str]]:
    rows = []
    for p in (
        Person.objects.filter(username__regex=r"^[a-z]")
        .exclude(username__startswith="gw")
        .prefetch_related("roles", "regions", "departments")
        .order_by("username")
    ):
        scope = (
            "全市"
            if p.citywide
            else "、".join([r.name for r in p.regions.all()] + [d.name for d in p.departments.all()])
        )
        rows.append((p.username, f"{p.full_name}（{'、'.join(str(r) for r in p.roles.all())}）", scope))
    return rows


def build_demo(*, seed: int = 7, stdout=None) -> DemoResult:
    if Region.objects.filter(code=DISTRICT_CODE).exists():
        return DemoResult(
            built=False, logins=logins(), summary=["演示城市已存在，未重复创建 · demo city already built"]
        )
    say = (lambda m: stdout.write(m)) if stdout else (lambda m: None)
    result = DemoResult(built=True)
    city = synthesize(seed=seed)
    with transaction.atomic():
        say("导入区、街道、社区边界 · importing boundaries")
        grid_services.region_import(city.geojson("district"), RegionLevel.DISTRICT)
        grid_services.region_import(city.geojson("street"), RegionLevel.STREET)
        Region.objects.filter(code=city.streets[-1].code).update(kind=RegionKind.PARK)
        grid_services.region_import(city.geojson("community"), RegionLevel.COMMUNITY)
        say("生成单元网格 · generating unit grids")
        report = grid_services.grids_generate()
        result.summary += report.lines()

        district = Region.objects.get(code=DISTRICT_CODE)
        streets = list(Region.objects.filter(level=RegionLevel.STREET).order_by("code"))
        centre = Department.objects.create(
            code="QY-JDZX",
            name="清源区数字化城市管理监督指挥中心",
            kind=DepartmentKind.COMMAND_CENTRE,
            region=district,
        )
        bureau = Department.objects.create(
            code="QY-CGJ",
            name="清源区城市管理和综合执法局",
            kind=DepartmentKind.CHENGGUAN_BUREAU,
            region=district,
        )
        lines = {
            key: Department.objects.create(code=f"QY-{key.upper()}", name=name, kind=kind, region=district)
            for key, name, kind in LINE_DEPARTMENTS
        }
        squads, offices = {}, {}
        for n, street in enumerate(streets, start=1):
            squads[street.pk] = Department.objects.create(
                code=f"QY-ZD{n:02d}",
                name=f"{street.name}城管中队",
                kind=DepartmentKind.CHENGGUAN_SQUAD,
                parent=bureau,
                region=street,
            )
            offices[street.pk] = Department.objects.create(
                code=f"QY-JD{n:02d}",
                name=f"{street.name}办事处",
                kind=DepartmentKind.STREET_OFFICE,
                region=street,
            )

        say("创建人员 · creating people")
        k = 0
        for n, street in enumerate(streets, start=1):
            for prefix, role, _label in STREET_ROLES:
                k += 1
                if role == Role.HANDLER:
                    _person(
                        f"{prefix}{n}",
                        _name(k),
                        [role],
                        department=squads[street.pk],
                        departments=[squads[street.pk]],
                        regions=[street],
                    )
                else:
                    _person(f"{prefix}{n}", _name(k), [role], department=centre, regions=[street])
        for key, dept in lines.items():
            k += 1
            _person(f"handler-{key}", _name(k), [Role.HANDLER], department=dept, departments=[dept])
        _person("leader", "区领导" + _name(k + 1), [Role.LEADER], department=bureau, citywide=True)
        _person(
            "sysadmin",
            "系统管理员" + _name(k + 2),
            [Role.SYSTEM_ADMIN],
            department=centre,
            citywide=True,
            is_staff=True,
        )
        _person(
            "secadmin",
            "安全管理员" + _name(k + 3),
            [Role.SECURITY_ADMIN],
            department=centre,
            citywide=True,
            is_staff=True,
        )
        _person(
            "auditor",
            "审计员" + _name(k + 4),
            [Role.AUDITOR],
            department=centre,
            citywide=True,
            is_staff=True,
        )
        _demo_assessment(bureau, centre, streets, _name(k + 5), _name(k + 6))

        # Grid responsibility: one 网格员 per community, and the street's inspector for every grid.
        duties = []
        for n, community in enumerate(Region.objects.filter(level=RegionLevel.COMMUNITY).order_by("code"), 1):
            worker = _person(
                f"gw{community.code}",
                _name(k + 10 + n),
                [Role.INSPECTOR],
                regions=[community],
                department=offices[community.parent_id],
            )
            for grid_id in UnitGrid.objects.filter(community=community).values_list("id", flat=True):
                duties.append(GridResponsibility(grid_id=grid_id, person=worker, duty=GridDuty.GRID_WORKER))
        for n, street in enumerate(streets, start=1):
            inspector = Person.objects.get(username=f"inspector{n}")
            duties += [
                GridResponsibility(grid_id=g, person=inspector, duty=GridDuty.INSPECTOR)
                for g in UnitGrid.objects.filter(street=street).values_list("id", flat=True)
            ]
        GridResponsibility.objects.bulk_create(duties, batch_size=1000)

        say("载入部件事件分类 · loading the catalogue")
        call_command("catalog", "load", "--activate", stdout=stdout)
    result.summary.append(
        f"区 1，街道 {len(streets)}，社区 {Region.objects.filter(level=RegionLevel.COMMUNITY).count()}，"
        f"单元网格 {UnitGrid.objects.count()}，部门 {Department.objects.count()}，人员 {Person.objects.count()}"
    )
    result.logins = logins()
    return result
