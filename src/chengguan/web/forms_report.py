"""Forms of the report pages: the inspector's mobile report and the public report, and the public
lookup. A report form maps its fields onto `cases.services.case_report` (one call); the service's
refusals come back onto the field they are about, in the person's language."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from chengguan.cases import services
from chengguan.cases.choices import CaseSource
from chengguan.cases.photos import PhotoError, ingest_photo
from chengguan.core import geo
from chengguan.core.errors import ServiceError

from . import ratelimit
from .forms import PhotosField

MAX_ADDRESS = 255
MAX_KEY = 128
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,18}[0-9]$")
CASE_NUMBER = re.compile(r"^[0-9]{8,20}$")
CRS_CHOICES = [(geo.WGS84, "WGS-84"), (geo.GCJ02, "GCJ-02")]


def class_choices(classes) -> list:
    """Minor classes grouped by their major class, for a <select> with <optgroup>s."""
    groups: dict[str, list] = {}
    for minor in classes:
        groups.setdefault(f"{minor.major.get_kind_display()} · {minor.major.name}", []).append(
            (minor.pk, minor.name)
        )
    return [("", _("请选择问题类别")), *groups.items()]


class ReportForm(forms.Form):
    """A problem: its class, where it is, photos, what is wrong. `classes`: the classes offered."""

    source = CaseSource.INSPECTOR
    # Service error codes → the field they are about (others show above the form).
    error_fields = {
        "unknown_class": "minor_class",
        "description_required": "description",
        "description_too_long": "description",
        "bad_location": "lon",
        "outside_city": "lon",
        "outside_jurisdiction": "lon",
        "photo_required": "photos",
    }

    minor_class = forms.TypedChoiceField(label=_("问题类别"), coerce=int, empty_value=None)
    lon = forms.FloatField(
        label=_("经度"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput({"step": "any"}),
    )
    lat = forms.FloatField(
        label=_("纬度"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput({"step": "any"}),
    )
    crs = forms.ChoiceField(choices=CRS_CHOICES, initial=geo.WGS84, widget=forms.HiddenInput)
    address = forms.CharField(label=_("地址或参照物"), required=False, max_length=MAX_ADDRESS)
    photos = PhotosField(label=_("现场照片"), required=False)
    description = forms.CharField(
        label=_("问题描述"),
        max_length=services.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写问题描述")},
    )

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["minor_class"].choices = class_choices(classes)
        self.fields["minor_class"].error_messages["required"] = _("请选择问题类别")

    def clean(self):
        data = super().clean()
        if "lon" in data and "lat" in data and (data["lon"] is None or data["lat"] is None):
            self.add_error("lon", _("请在地图上点选问题位置，或点“使用我的位置”"))
        return data

    def ingested_photos(self) -> list:
        """The uploaded photos, checked by content; a refused one is an error on the photos field."""
        ingested = []
        for upload in self.cleaned_data.get("photos") or []:
            try:
                ingested.append(ingest_photo(upload, filename=upload.name))
            except PhotoError as exc:
                self.add_error("photos", f"{upload.name}: {exc.message}")
                return []
        return ingested

    def case_input(self, photos) -> services.CaseInput:
        d = self.cleaned_data
        return services.CaseInput(
            source=self.source,
            minor_class_id=d["minor_class"],
            description=d["description"],
            lon=d["lon"],
            lat=d["lat"],
            crs=d["crs"],
            address=d.get("address", ""),
            reporter_name=d.get("reporter_name", ""),
            reporter_phone=d.get("reporter_phone", ""),
            photos=photos,
        )

    def refused(self, exc: ServiceError) -> None:
        self.add_error(self.error_fields.get(exc.code), exc.message)

    def errors_json(self) -> dict:
        """{field or "__all__": [message, …]} for a page that sent the form with fetch()."""
        return {name: [str(m) for m in messages] for name, messages in self.errors.items()}


class InspectorReportForm(ReportForm):
    """The inspector's report. `idempotency_key` is made by the page, one per draft: however often a
    draft is sent (a double tap, a resend after a lost connection), it makes one case."""

    idempotency_key = forms.CharField(max_length=MAX_KEY, widget=forms.HiddenInput)

    def submit(self, user):
        """(case, created) when reported; None with the errors on the form."""
        if not self.is_valid():
            return None
        photos = self.ingested_photos()
        if self.errors:
            return None
        try:
            return services.case_report(
                user, self.case_input(photos), idempotency_key=self.cleaned_data["idempotency_key"]
            )
        except ServiceError as exc:
            self.refused(exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc))
        return None


class PublicReportForm(ReportForm):
    """A citizen's report (source PUBLIC): who they are, so the centre can call back and they can
    look the case up later. `submit_key`: one per page load, so a double submit makes one case."""

    source = CaseSource.PUBLIC

    reporter_name = forms.CharField(label=_("您的姓名"), max_length=50)
    reporter_phone = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        help_text=_("用于回访；查询办理进度时需要号码后 4 位"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    submit_key = forms.CharField(max_length=MAX_KEY, widget=forms.HiddenInput)

    SCOPE = "public_report"

    def clean_reporter_phone(self):
        phone = self.cleaned_data["reporter_phone"].strip()
        if not PHONE.match(phone):
            raise forms.ValidationError(_("请填写正确的电话号码（7–20 位数字）"))
        return phone

    def submit(self) -> str | None:
        """The case number when reported (the first submission's, for a repeated one); None with
        the errors on the form."""
        if not self.is_valid():
            return None
        key = self.cleaned_data["submit_key"]
        if not ratelimit.claim(self.SCOPE, key):  # sent before: answer with that submission's case
            number = ratelimit.recall(self.SCOPE, key)
            if number:
                return number
            self.add_error(None, _("这份举报正在提交，请稍候查看结果，不要重复提交"))
            return None
        photos = self.ingested_photos()
        if not self.errors:
            try:
                case, _created = services.case_report(None, self.case_input(photos))
            except ServiceError as exc:
                self.refused(exc)
            else:
                ratelimit.remember(self.SCOPE, key, case.number)
                return case.number
        ratelimit.release(self.SCOPE, key)  # nothing was made: the corrected form may be sent again
        return None


class LookupForm(forms.Form):
    """A case number and the last four digits of the reporter's phone."""

    number = forms.CharField(
        label=_("案件编号"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    phone_last4 = forms.CharField(
        label=_("举报电话后 4 位"),
        min_length=4,
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{4}"}),
    )

    def clean_number(self):
        number = re.sub(r"\s+", "", self.cleaned_data["number"])
        if not CASE_NUMBER.match(number):
            raise forms.ValidationError(_("案件编号应为数字"))
        return number

    def clean_phone_last4(self):
        digits = self.cleaned_data["phone_last4"].strip()
        if not re.fullmatch(r"[0-9]{4}", digits):
            raise forms.ValidationError(_("请填写 4 位数字"))
        return digits
