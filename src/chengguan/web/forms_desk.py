"""Forms of the desk, the department inbox, the ledger and the grid pages: filters (GET) that
never fail the page (a bad value is shown next to its field and ignored), and the bulk action's
selection of "case id:version" pairs."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from chengguan.cases.choices import CaseSource
from chengguan.cases.ledger import SCOPE_LABELS
from chengguan.catalog.models import MinorClass
from chengguan.core.permissions import visible
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Department, Region

YES_NO = [("", _("全部")), ("1", _("是")), ("0", _("否"))]


def _region_choices(user, level: str) -> list[tuple]:
    rows = visible(user, Region).filter(level=level).order_by("code").values_list("pk", "name")
    return [("", _("全部")), *rows]


def _class_choices(user) -> list[tuple]:
    """Active minor classes grouped by their major class (for <optgroup>)."""
    rows = (
        visible(user, MinorClass)
        .filter(active=True, major__catalog__active=True)
        .order_by("major__code", "code")
        .values_list("pk", "name", "major__name")
    )
    groups: dict[str, list] = {}
    for pk, name, major in rows:
        groups.setdefault(major, []).append((pk, name))
    return [("", _("全部")), *groups.items()]


def _yes_no(value: str) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


class FilterForm(forms.Form):
    """A GET filter: `filters()` gives the valid values only; errors stay on the form to show."""

    def __init__(self, data=None, *, user, **kwargs):
        self.user = user
        super().__init__(data or None, **kwargs)

    def filters(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    def query(self) -> str:
        """The valid filters as a query string (for links: pages, export)."""
        if not self.is_bound:
            return ""
        keep = self.data.copy()
        for name in list(keep):
            if name not in self.fields or name in self.errors:
                del keep[name]
        return keep.urlencode()


class DeskFilterForm(FilterForm):
    minor_class_id = forms.TypedChoiceField(label=_("类别"), required=False, coerce=int, empty_value=None)
    street_id = forms.TypedChoiceField(label=_("街道"), required=False, coerce=int, empty_value=None)
    community_id = forms.TypedChoiceField(label=_("社区"), required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label=_("来源"), required=False)
    overdue = forms.ChoiceField(label=_("是否超期"), required=False, choices=YES_NO)
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["minor_class_id"].choices = _class_choices(self.user)
        self.fields["street_id"].choices = _region_choices(self.user, RegionLevel.STREET)
        self.fields["community_id"].choices = _region_choices(self.user, RegionLevel.COMMUNITY)
        self.fields["source"].choices = [("", _("全部")), *CaseSource.choices]
        self.fields["q"].widget.attrs.update(placeholder=_("编号、描述或地址"), type="search")

    def clean_overdue(self):
        return _yes_no(self.cleaned_data["overdue"])


class LedgerFilterForm(FilterForm):
    scope = forms.ChoiceField(label=_("范围"), required=False, choices=list(SCOPE_LABELS.items()))
    street_id = forms.TypedChoiceField(label=_("街道"), required=False, coerce=int, empty_value=None)
    community_id = forms.TypedChoiceField(label=_("社区"), required=False, coerce=int, empty_value=None)
    department_id = forms.TypedChoiceField(label=_("部门"), required=False, coerce=int, empty_value=None)
    minor_class_id = forms.TypedChoiceField(label=_("类别"), required=False, coerce=int, empty_value=None)
    overdue = forms.ChoiceField(label=_("是否超期"), required=False, choices=YES_NO)
    written_off = forms.ChoiceField(label=_("已销号"), required=False, choices=YES_NO)
    found_from = forms.DateField(
        label=_("发现时间自"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    found_to = forms.DateField(label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street_id"].choices = _region_choices(self.user, RegionLevel.STREET)
        self.fields["community_id"].choices = _region_choices(self.user, RegionLevel.COMMUNITY)
        departments = visible(self.user, Department).filter(active=True).order_by("code")
        self.fields["department_id"].choices = [("", _("全部")), *departments.values_list("pk", "name")]
        self.fields["minor_class_id"].choices = _class_choices(self.user)

    def clean_scope(self):
        return self.cleaned_data["scope"] or "open"

    def clean_overdue(self):
        return _yes_no(self.cleaned_data["overdue"])

    def clean_written_off(self):
        return _yes_no(self.cleaned_data["written_off"])

    def clean(self):
        data = super().clean()
        start, end = data.get("found_from"), data.get("found_to")
        if start and end and start > end:
            self.add_error("found_to", _("结束日期不能早于开始日期"))
        return data


class GridFilterForm(FilterForm):
    community_id = forms.TypedChoiceField(label=_("社区"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(label=_("网格编码"), required=False, max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community_id"].choices = _region_choices(self.user, RegionLevel.COMMUNITY)
        self.fields["q"].widget.attrs.update(placeholder=_("编码开头"), type="search", inputmode="numeric")


def parse_selection(values: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """The selected cases of a bulk action: "id:version" pairs → ([(id, version)], [bad values])."""
    pairs, bad = [], []
    seen = set()
    for value in values:
        try:
            pk, version = (int(part) for part in value.split(":", 1))
        except ValueError:
            bad.append(value)
            continue
        if pk not in seen:
            seen.add(pk)
            pairs.append((pk, version))
    return pairs, bad
