"""Export pages: filter rules and snapshots (list, new rule, build), a snapshot with its balance report."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, role_of
from catalog.models import Dataset

from .build import ExportError, create_rule, request_snapshot
from .formats import FORMATS
from .models import FilterRule, Snapshot
from .rules import TASK_TYPES, RuleError, describe_rule, parse_rule


class RuleForm(forms.Form):
    name = forms.SlugField(max_length=100)
    min_grade = forms.ChoiceField(choices=[("high", "high only"), ("moderate", "high and moderate")])
    require_agreement = forms.BooleanField(required=False, help_text="Leave out adjudicated grades")
    use_post_edit = forms.BooleanField(required=False, initial=True, help_text="The chosen post-edit, where one exists")
    post_edit_from_assessments = forms.BooleanField(required=False, help_text="Else an annotator's post-edit")
    unaudited = forms.ChoiceField(choices=[("exclude", "exclude"), ("automatic", "include when the suggested grade meets the bar")])
    datasets = forms.ModelMultipleChoiceField(queryset=Dataset.objects.all(), required=False, to_field_name="name",
                                              help_text="None chosen: every dataset")  # fmt: skip
    task_types = forms.MultipleChoiceField(choices=[(t, t) for t in TASK_TYPES], required=False)
    splits = forms.CharField(required=False, help_text="Comma-separated; blank: every split")
    engine = forms.CharField(required=False)
    model = forms.CharField(required=False)
    prompt_version = forms.CharField(required=False)

    def spec(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("name")
        data["datasets"] = [d.name for d in data["datasets"]]
        data["splits"] = [s.strip() for s in data["splits"].split(",") if s.strip()]
        return data


@require_http_methods(["GET", "POST"])
@login_required
def snapshot_list(request: HttpRequest) -> HttpResponse:
    role = require_role(request.user, *READERS)
    form = RuleForm(request.POST or None)
    if request.method == "POST":
        require_role(request.user, ADMIN)
        if form.is_valid():
            try:
                rule = create_rule(form.cleaned_data["name"], form.spec(), created_by=request.user)
            except (RuleError, ExportError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Rule {rule.name} saved.")
                return redirect("export:snapshots")
    rules = [(rule, rule_sentence(rule.spec)) for rule in FilterRule.objects.all()]
    context = {
        "rules": rules, "snapshots": Snapshot.objects.select_related("rule")[:100],
        "form": form, "formats": FORMATS, "role": role,
    }  # fmt: skip
    return render(request, "exports/snapshots.html", context)


@require_POST
@login_required
def snapshot_build(request: HttpRequest, rule_id: int) -> HttpResponse:
    require_role(request.user, ADMIN)
    rule = get_object_or_404(FilterRule, pk=rule_id)
    try:
        snapshot, created = request_snapshot(rule, request.POST.get("format", "llava"), created_by=request.user)
    except ExportError as exc:
        messages.error(request, exc.message)
        return redirect("export:snapshots")
    if not created:
        messages.info(request, f"Snapshot {snapshot.pk} of this rule is already {snapshot.state}.")
    return redirect("export:snapshot", snapshot_id=snapshot.pk)


@require_GET
@login_required
def snapshot_detail(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    require_role(request.user, *READERS)
    snapshot = get_object_or_404(Snapshot.objects.select_related("rule"), pk=snapshot_id)
    balance = snapshot.balance or {}
    removed = [
        {"task_type": task, "candidates": v["candidates"], "kept": v["kept"], "removed": v["candidates"] - v["kept"],
         "share": v.get("removed_share")}  # fmt: skip
        for task, v in balance.get("removed_by_task_type", {}).items()
    ]
    context = {"snapshot": snapshot, "balance": balance, "removed": removed, "rule_sentence": rule_sentence(snapshot.rule_spec),
               "role": role_of(request.user)}  # fmt: skip
    return render(request, "exports/snapshot.html", context)


def rule_sentence(spec: dict) -> str:
    """A stored rule as English sentences; a spec this version no longer parses is said so, not hidden."""
    try:
        return describe_rule(parse_rule(spec))
    except RuleError as exc:
        return f"(this rule no longer reads as a current rule: {exc}) {spec}"
