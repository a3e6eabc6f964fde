"""The indicators of each evaluated object, stated as data: numerator and denominator as sums of
counters (docs/evaluation.md gives the reasoning for each).

A term names a counter and where it is read:

* `own` — the object's own counters (a person's actions, a department's tasks, a region's cases);
* `area` — for a person, the counters of the regions they act for (their top-most regions): what
  happened in their area whoever did it (missed reports, stages left open and overdue there).

Counters whose name starts with `oo_` are gauges (open and overdue at the end of the period);
the others are event counts summed over the period's days.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .choices import ObjectType, Transform

OWN, AREA = "own", "area"


@dataclass(frozen=True)
class Term:
    counter: str
    scope: str = OWN
    sign: int = 1

    @property
    def gauge(self) -> bool:
        return self.counter.startswith("oo_")


@dataclass(frozen=True)
class Indicator:
    code: str
    label: object  # a lazy translation
    numerator: tuple[Term, ...]
    denominator: tuple[Term, ...] | None = None  # None: a count, not a rate

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def default_transform(self) -> str:
        return Transform.RATE if self.is_rate else Transform.BANDS

    def terms(self) -> tuple[Term, ...]:
        return self.numerator + (self.denominator or ())


def T(counter, scope=OWN, sign=1) -> Term:
    return Term(counter, scope, sign)


def _on_time(prefix: str, code: str, label) -> Indicator:
    """A person's on-time rate for a stage: stages of that kind they ended on time, over those
    they ended plus those open and overdue in their area at the end of the period."""
    return Indicator(code, label, (T(f"{prefix}_on_time"),), (T(f"{prefix}_ended"), T(f"oo_{prefix}", AREA)))


INDICATORS: dict[str, tuple[Indicator, ...]] = {
    ObjectType.INSPECTOR: (
        Indicator("valid_report_rate", _("有效上报率"), (T("report_registered"),), (T("reported"),)),
        Indicator(
            "missed_report_rate",
            _("漏报率"),
            (T("registered_by_others", AREA),),
            (T("registered", AREA),),
        ),
        _on_time("verify", "verify_on_time_rate", _("按时核实率")),
        _on_time("check", "check_on_time_rate", _("按时核查率")),
    ),
    ObjectType.OPERATOR: (
        Indicator("accepted", _("受理数"), (T("accepted"),)),
        _on_time("accept", "accept_on_time_rate", _("按时派发率")),
    ),
    ObjectType.SHIFT_LEADER: (
        _on_time("register", "register_on_time_rate", _("按时立案率")),
        # (立案数 − 作废数) / 立案数: the cases the person registered, less those voided (作废) in
        # the period among the cases they had registered (a void counts in its own period).
        Indicator(
            "register_accuracy_rate",
            _("准确立案率"),
            (T("registered"), T("register_voided", sign=-1)),
            (T("registered"),),
        ),
        _on_time("close", "close_on_time_rate", _("按时结案率")),
    ),
    ObjectType.DISPATCHER: (
        Indicator("dispatched", _("派遣数"), (T("dispatched"),)),
        _on_time("dispatch", "dispatch_on_time_rate", _("按时派遣率")),
        Indicator(
            "dispatch_accuracy_rate",
            _("准确派遣率"),
            (T("dispatched"), T("dispatch_returned", sign=-1)),
            (T("dispatched"),),
        ),
    ),
    ObjectType.DEPARTMENT: (
        Indicator("assigned", _("立案数"), (T("assigned"),)),
        Indicator("handle_rate", _("处置率"), (T("handled"),), (T("handled"), T("oo_task"))),
        Indicator(
            "handle_on_time_rate", _("按期处置率"), (T("handled_on_time"),), (T("handled"), T("oo_task"))
        ),
        Indicator("rework_rate", _("返工率"), (T("reworked"),), (T("handled_lead"),)),
        Indicator("close_rate", _("结案率"), (T("closed"),), (T("closed"), T("oo_task"))),
        Indicator("close_on_time_rate", _("按期结案率"), (T("closed_on_time"),), (T("closed"), T("oo_task"))),
        Indicator("extended", _("延期数"), (T("extended"),)),
        Indicator("suspended", _("挂账数"), (T("suspended"),)),
    ),
}
_REGION = (
    Indicator("supervision_rate", _("监督举报率"), (T("registered_by_inspector"),), (T("registered"),)),
    Indicator("registered", _("立案数"), (T("registered"),)),
    Indicator("close_rate", _("结案率"), (T("closed"),), (T("closed"), T("oo_case"))),
    Indicator("close_on_time_rate", _("按期结案率"), (T("closed_on_time"),), (T("closed"), T("oo_case"))),
)
for _type in (ObjectType.GRID, ObjectType.COMMUNITY, ObjectType.STREET, ObjectType.DISTRICT):
    INDICATORS[_type] = _REGION


def indicator(object_type: str, code: str) -> Indicator | None:
    return next((i for i in INDICATORS.get(object_type, ()) if i.code == code), None)
