"""Forms of the pages. A case action form carries the case `version` it was read at and maps its
fields onto exactly one workflow service (`submit`); service errors come back onto the field they
are about, in the person's language."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chengguan.cases import services
from chengguan.cases.choices import CaseAction, TaskRole
from chengguan.cases.models import Case
from chengguan.cases.photos import PhotoError, ingest_photo
from chengguan.catalog.choices import TimeUnit
from chengguan.core.errors import ServiceError
from chengguan.core.permissions import visible
from chengguan.org.models import Department

MAX_TEXT = services.MAX_DESCRIPTION

# The action as a button says what it does ("Accept"); CaseAction's labels name the event ("accepted").
BUTTONS = {
    CaseAction.ACCEPT: pgettext_lazy("button", "受理"),
    CaseAction.VERIFY: pgettext_lazy("button", "核实"),
    CaseAction.REGISTER: pgettext_lazy("button", "立案"),
    CaseAction.REJECT: pgettext_lazy("button", "不予立案"),
    CaseAction.DUPLICATE: pgettext_lazy("button", "标记重复"),
    CaseAction.VOID: pgettext_lazy("button", "作废"),
    CaseAction.DISPATCH: pgettext_lazy("button", "派遣"),
    CaseAction.SIGN: pgettext_lazy("button", "签收"),
    CaseAction.RETURN: pgettext_lazy("button", "回退"),
    CaseAction.HANDLE: pgettext_lazy("button", "处置反馈"),
    CaseAction.CHECK_PASS: pgettext_lazy("button", "核查通过"),
    CaseAction.CHECK_FAIL: pgettext_lazy("button", "核查不通过（返工）"),
    CaseAction.CLOSE: pgettext_lazy("button", "结案"),
    CaseAction.EXTEND_REQUEST: pgettext_lazy("button", "申请延期"),
    CaseAction.EXTEND_APPROVE: pgettext_lazy("button", "批准延期"),
    CaseAction.EXTEND_DENY: pgettext_lazy("button", "驳回延期"),
    CaseAction.SUSPEND_REQUEST: pgettext_lazy("button", "申请挂账"),
    CaseAction.SUSPEND_APPROVE: pgettext_lazy("button", "批准挂账"),
    CaseAction.SUSPEND_DENY: pgettext_lazy("button", "驳回挂账"),
    CaseAction.WRITE_OFF: pgettext_lazy("button", "销号"),
    CaseAction.REOPEN: pgettext_lazy("button", "重新办理"),
    CaseAction.COHANDLER_SIGN: pgettext_lazy("button", "协办签收"),
    CaseAction.COHANDLER_FEEDBACK: pgettext_lazy("button", "协办反馈"),
    CaseAction.COHANDLER_RELEASE: pgettext_lazy("button", "解除协办"),
}
MAX_PHOTOS = 6


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username", autocapitalize="none")
        self.fields["password"].widget.attrs.update(autocomplete="current-password")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos from the camera or the gallery; each is checked by content when submitted."""

    widget = MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"})

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多上传 %(n)d 张照片"), params={"n": MAX_PHOTOS})
        return [super(PhotosField, self).clean(f, initial) for f in files]


# --- case actions -----------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """One workflow step on one case. Subclasses add their fields and call their service."""

    action: str = ""
    # Service error codes → the field they are about (others show above the form).
    error_fields: dict[str, str] = {}
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, case: Case, user, **kwargs):
        self.case, self.user = case, user
        kwargs.setdefault("prefix", self.action)
        kwargs.setdefault("initial", {"version": case.version})
        super().__init__(*args, **kwargs)

    @property
    def label(self) -> str:
        return BUTTONS.get(self.action) or CaseAction(self.action).label

    @property
    def has_files(self) -> bool:
        return any(isinstance(f, forms.FileField) for f in self.fields.values())

    def photos(self) -> list:
        """The uploaded photos, checked by content; a refused one is an error on the photos field."""
        ingested = []
        for upload in self.cleaned_data.get("photos") or []:
            try:
                ingested.append(ingest_photo(upload, filename=upload.name))
            except PhotoError as exc:
                self.add_error("photos", f"{upload.name}: {exc.message}")
                return []
        return ingested

    def call(self, version: int):  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def submit(self) -> bool:
        """Run the service; True when done. Bad input ends on the form's fields; a conflict
        (stale version, another state) is raised to the view."""
        if not self.is_valid():
            return False
        try:
            self.call(self.cleaned_data["version"])
        except ServiceError as exc:
            if exc.status == 409:
                raise
            self.add_error(self.error_fields.get(exc.code), exc.message)
            return False
        return not self.errors


def _text(label, *, required=False, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _photos(label):
    return PhotosField(label=label, required=False)


class NoteForm(ActionForm):
    """Actions that take an optional note."""

    note = _text(_("说明"))
    service = None

    def call(self, version):
        type(self).service(self.user, self.case.pk, version=version, note=self.cleaned_data["note"])


class AcceptForm(NoteForm):
    action = CaseAction.ACCEPT
    service = staticmethod(services.case_accept)


class RegisterForm(NoteForm):
    action = CaseAction.REGISTER
    service = staticmethod(services.case_register)


class SignForm(NoteForm):
    action = CaseAction.SIGN
    service = staticmethod(services.case_sign)


class CloseForm(NoteForm):
    action = CaseAction.CLOSE
    service = staticmethod(services.case_close)


class WriteOffForm(NoteForm):
    action = CaseAction.WRITE_OFF
    service = staticmethod(services.case_write_off)
    note = _text(_("整改核查情况"), required=True)
    error_fields = {"note_required": "note"}


class CohandlerSignForm(NoteForm):
    action = CaseAction.COHANDLER_SIGN
    service = staticmethod(services.cohandler_sign)


class ReasonForm(ActionForm):
    """Actions that need a reason."""

    reason = _text(_("理由"), required=True)
    error_fields = {"reason_required": "reason", "note_too_long": "reason"}
    service = None

    def call(self, version):
        type(self).service(self.user, self.case.pk, version=version, reason=self.cleaned_data["reason"])


class RejectForm(ReasonForm):
    action = CaseAction.REJECT
    service = staticmethod(services.case_reject)


class VoidForm(ReasonForm):
    action = CaseAction.VOID
    service = staticmethod(services.case_void)


class ReturnForm(ReasonForm):
    action = CaseAction.RETURN
    service = staticmethod(services.case_return)


class ReopenForm(ReasonForm):
    action = CaseAction.REOPEN
    service = staticmethod(services.case_reopen)


class VerifyForm(ActionForm):
    action = CaseAction.VERIFY
    note = _text(_("核实情况"))
    photos = _photos(_("照片"))

    def call(self, version):
        photos = self.photos()
        if not self.errors:
            services.case_verify(
                self.user, self.case.pk, version=version, note=self.cleaned_data["note"], photos=photos
            )


class DuplicateForm(ActionForm):
    action = CaseAction.DUPLICATE
    original = forms.CharField(label=_("原案件编号"), max_length=20)
    note = _text(_("说明"))
    error_fields = {"unknown_original": "original", "bad_original": "original"}

    def clean_original(self):
        number = self.cleaned_data["original"].strip()
        original = visible(self.user, Case).filter(number=number).exclude(pk=self.case.pk).first()
        if original is None:
            raise forms.ValidationError(_("找不到编号为 %(n)s 的案件"), params={"n": number})
        return original

    def call(self, version):
        services.case_mark_duplicate(
            self.user,
            self.case.pk,
            version=version,
            original_id=self.cleaned_data["original"].pk,
            note=self.cleaned_data["note"],
        )


class DispatchForm(ActionForm):
    action = CaseAction.DISPATCH
    department = forms.ModelChoiceField(
        label=_("主办部门"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("按派遣规则"),
    )
    cohandlers = forms.ModelMultipleChoiceField(
        label=_("协办部门"), queryset=Department.objects.none(), required=False
    )
    note = _text(_("派遣说明"))
    error_fields = {
        "no_route": "department",
        "unknown_department": "department",
        "lead_is_cohandler": "cohandlers",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = visible(self.user, Department).filter(active=True).order_by("code")
        self.fields["department"].queryset = departments
        self.fields["cohandlers"].queryset = departments

    def call(self, version):
        lead = self.cleaned_data["department"]
        services.case_dispatch(
            self.user,
            self.case.pk,
            version=version,
            department_id=lead.pk if lead else None,
            cohandler_ids=[d.pk for d in self.cleaned_data["cohandlers"]],
            note=self.cleaned_data["note"],
        )


class HandleForm(ActionForm):
    action = CaseAction.HANDLE
    result = _text(_("处置结果"), required=True)
    photos = _photos(_("处置后照片"))
    error_fields = {"result_required": "result", "photo_required": "photos"}

    def call(self, version):
        photos = self.photos()
        if not self.errors:
            services.case_handle(
                self.user, self.case.pk, version=version, result=self.cleaned_data["result"], photos=photos
            )


class CheckForm(ActionForm):
    note = _text(_("核查意见"))
    photos = _photos(_("核查照片"))
    error_fields = {"reason_required": "note", "photo_required": "photos"}
    passed = True

    def call(self, version):
        photos = self.photos()
        if not self.errors:
            services.case_check(
                self.user,
                self.case.pk,
                version=version,
                passed=self.passed,
                note=self.cleaned_data["note"],
                photos=photos,
            )


class CheckPassForm(CheckForm):
    action = CaseAction.CHECK_PASS


class CheckFailForm(CheckForm):
    action = CaseAction.CHECK_FAIL
    note = _text(_("返工原因"), required=True)
    passed = False


class ExtendRequestForm(ActionForm):
    action = CaseAction.EXTEND_REQUEST
    amount = forms.DecimalField(label=_("延长时限"), min_value=0, max_digits=8, decimal_places=2)
    unit = forms.ChoiceField(label=_("单位"), choices=TimeUnit.choices, initial=TimeUnit.WORK_DAY)
    reason = _text(_("延期理由"), required=True)
    error_fields = {"bad_amount": "amount", "bad_unit": "unit", "reason_required": "reason"}

    def call(self, version):
        services.case_request_extension(
            self.user,
            self.case.pk,
            version=version,
            amount=self.cleaned_data["amount"],
            unit=self.cleaned_data["unit"],
            reason=self.cleaned_data["reason"],
        )


class SuspendRequestForm(ActionForm):
    action = CaseAction.SUSPEND_REQUEST
    planned_fix_date = forms.DateField(
        label=_("计划整改日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = _text(_("挂账理由"), required=True)
    error_fields = {"bad_date": "planned_fix_date", "reason_required": "reason"}

    def call(self, version):
        services.case_request_suspension(
            self.user,
            self.case.pk,
            version=version,
            planned_fix_date=self.cleaned_data["planned_fix_date"],
            reason=self.cleaned_data["reason"],
        )


class DecisionForm(ActionForm):
    note = _text(_("审批意见"))
    approve = True
    service = None

    def call(self, version):
        type(self).service(
            self.user, self.case.pk, version=version, approve=self.approve, note=self.cleaned_data["note"]
        )


class ExtendApproveForm(DecisionForm):
    action = CaseAction.EXTEND_APPROVE
    service = staticmethod(services.case_decide_extension)


class ExtendDenyForm(DecisionForm):
    action = CaseAction.EXTEND_DENY
    service = staticmethod(services.case_decide_extension)
    approve = False


class SuspendApproveForm(DecisionForm):
    action = CaseAction.SUSPEND_APPROVE
    service = staticmethod(services.case_decide_suspension)


class SuspendDenyForm(DecisionForm):
    action = CaseAction.SUSPEND_DENY
    service = staticmethod(services.case_decide_suspension)
    approve = False


class CohandlerFeedbackForm(ActionForm):
    action = CaseAction.COHANDLER_FEEDBACK
    result = _text(_("协办结果"), required=True)
    error_fields = {"result_required": "result"}

    def call(self, version):
        services.cohandler_feedback(
            self.user, self.case.pk, version=version, result=self.cleaned_data["result"]
        )


class CohandlerReleaseForm(ActionForm):
    action = CaseAction.COHANDLER_RELEASE
    task = forms.TypedChoiceField(label=_("协办部门"), coerce=int)
    reason = _text(_("解除理由"), required=True)
    error_fields = {"unknown_task": "task", "reason_required": "reason"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [
            (t.pk, t.department.name) for t in self.case.tasks.all() if t.current and t.role == TaskRole.CO
        ]

    def call(self, version):
        services.cohandler_release(
            self.user,
            self.case.pk,
            version=version,
            task_id=self.cleaned_data["task"],
            reason=self.cleaned_data["reason"],
        )


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in [
        AcceptForm,
        VerifyForm,
        RegisterForm,
        RejectForm,
        VoidForm,
        DuplicateForm,
        DispatchForm,
        SignForm,
        ReturnForm,
        HandleForm,
        CheckPassForm,
        CheckFailForm,
        CloseForm,
        ExtendRequestForm,
        ExtendApproveForm,
        ExtendDenyForm,
        SuspendRequestForm,
        SuspendApproveForm,
        SuspendDenyForm,
        WriteOffForm,
        ReopenForm,
        CohandlerSignForm,
        CohandlerFeedbackForm,
        CohandlerReleaseForm,
    ]
}
