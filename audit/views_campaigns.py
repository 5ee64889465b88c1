"""Campaign pages: list, creation (admins), statistics and agreement, estimates, adjudication."""

from __future__ import annotations

import math

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import require_role
from accounts.roles import ADMIN, ANNOTATOR, role_of
from catalog.models import Dataset
from config.inputs import BadInput, parse_id

from .access import campaign_for_reader, visible_campaigns
from .adjudication_queue import FilterError, Pending, QueueFilter, adjudication_item, facets, pending_queue
from .campaign_stats import campaign_estimates, campaign_statistics
from .campaigns import CampaignSpec, create_campaign
from .estimates import USABLE_RULES
from .grading import GradingError, do_adjudicate
from .models import Campaign, Entry, FinalGrade, Membership, PendingAdjudication
from .simulated import SIMULATED, simulated_flag


class AnnotatorChoices(forms.ModelMultipleChoiceField):
    """Annotators to pick, simulated ones (audit/simulated.py) labelled so."""

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.username} (simulated)" if getattr(obj, "is_simulated", False) else obj.username


class CampaignForm(forms.Form):
    name = forms.SlugField(max_length=100)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    annotators = AnnotatorChoices(
        queryset=User.objects.filter(groups__name=ANNOTATOR).annotate(is_simulated=simulated_flag("pk"))
        .order_by("username"),
        widget=forms.CheckboxSelectMultiple,
    )
    overlap = forms.IntegerField(initial=2, min_value=1, label="Overlap k (annotators per translation)")
    control_share = forms.FloatField(initial=0.05, min_value=0, max_value=0.5, label="Share of control items")
    sampling = forms.ChoiceField(choices=Campaign.Sampling.choices)
    sample_size = forms.IntegerField(required=False, min_value=1, label="Sample size N")
    engine = forms.CharField(required=False, help_text="Blank: any engine")
    model = forms.CharField(required=False, help_text="Blank: any model")
    prompt_version = forms.CharField(required=False, help_text="Blank: any prompt version")
    lease_minutes = forms.IntegerField(initial=15, min_value=1)


@require_GET
@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    simulated = Membership.objects.filter(campaign=OuterRef("pk"), annotator__groups__name=SIMULATED)
    campaigns = visible_campaigns(request.user).annotate(has_simulated=Exists(simulated))
    return render(request, "audit/campaigns.html", {"campaigns": campaigns, "role": role})


@require_http_methods(["GET", "POST"])
@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMIN)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        spec = CampaignSpec(**{**form.cleaned_data, "annotators": list(form.cleaned_data["annotators"])})
        try:
            campaign = create_campaign(spec, acting_user=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Campaign {campaign.name} created: {campaign.size} translations.")
            return redirect("audit:campaign", campaign.pk)
    return render(request, "audit/campaign_new.html", {"form": form, "role": role_of(request.user)})


@require_GET
@login_required
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_for_reader(request.user, campaign_id)
    stats = campaign_statistics(campaign)
    return render(request, "audit/campaign.html", {"campaign": campaign, "stats": stats, "role": role_of(request.user)})


@require_GET
@login_required
def campaign_estimates_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_for_reader(request.user, campaign_id)
    rule = request.GET.get("rule", "high")
    rule = rule if rule in USABLE_RULES else "high"
    try:
        margin = min(max(float(request.GET.get("margin", "3")) / 100, 0.005), 0.5)
    except ValueError:
        margin = 0.03
    if not math.isfinite(margin):  # "nan" parses, and passes min/max untouched
        margin = 0.03
    context = {"campaign": campaign, "est": campaign_estimates(campaign, rule=rule, margin=margin),
               "rules": list(USABLE_RULES), "margin_points": round(margin * 100, 1), "role": role_of(request.user)}  # fmt: skip
    return render(request, "audit/estimates.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def adjudication_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """One pending disagreement at a time; a plain form POST settles it and shows the next one.

    ``?entry=`` picks the item shown, ``?task=&kind=&spread=`` filter the queue
    (audit/adjudication_queue.py); static/audit/adjudicate.js only adds keys.
    """
    campaign = campaign_for_reader(request.user, campaign_id)
    try:
        filters = QueueFilter.from_query(request.GET)
        wanted = _int_field(request.GET, "entry")
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    everything = pending_queue(campaign)
    queue = [p for p in everything if filters.matches(p)]
    if request.method == "POST":
        return _adjudicate(request, campaign, filters, queue)
    ids = [p.entry_id for p in queue]
    if wanted is not None and wanted not in ids and ids:
        messages.info(request, f"Translation {wanted} is no longer waiting under these filters; here is the first one.")
    current = wanted if wanted in ids else (ids[0] if ids else None)
    return _render(request, campaign, filters, everything, current)


def _int_field(data, name: str) -> int | None:
    value = (data.get(name) or "").strip()
    if not value:
        return None
    try:
        return parse_id(name, value)
    except BadInput:  # "²" is a digit to str.isdigit, not to int()
        raise FilterError(name, f"expected a translation number, got {value!r}") from None


def _adjudicate(request: HttpRequest, campaign: Campaign, filters: QueueFilter, queue: list[Pending]) -> HttpResponse:
    try:
        entry_id = _int_field(request.POST, "entry")
        post_edit_of = _int_field(request.POST, "post_edit_of")
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    if entry_id is None:
        return HttpResponseBadRequest("entry: which translation to adjudicate is missing")
    ids = [p.entry_id for p in queue]
    try:
        with transaction.atomic():
            # Locked so two reviewers on the same item cannot both decide it: the second
            # one waits here, then finds the item gone from the queue.
            entry = Entry.objects.filter(pk=entry_id, campaign=campaign, is_control=False).first()
            if entry is None:
                raise GradingError(404, f"campaign {campaign.name} has no audited translation {entry_id}", "entry")
            if not PendingAdjudication.objects.select_for_update().filter(entry=entry).exists():
                decided = FinalGrade.objects.filter(entry=entry).select_related("decided_by").first()
                who = f" by {decided.decided_by.username}" if decided and decided.decided_by else ""
                grade = f" ({decided.grade}{who})" if decided else ""
                raise GradingError(409, f"translation {entry_id} was already settled{grade}; it left the queue", "entry")
            final = do_adjudicate(entry_id, grade=request.POST.get("grade", ""), reviewer=request.user,
                                  post_edit_of=post_edit_of)  # fmt: skip
    except GradingError as exc:
        messages.error(request, exc.message)
        everything = pending_queue(campaign)
        ids = [p.entry_id for p in everything if filters.matches(p)]
        shown = entry_id if entry_id in ids else (ids[0] if ids else None)
        return _render(request, campaign, filters, everything, shown, status=exc.status)
    text = " with the post-edit as final text" if final.final_turns else ""
    messages.success(request, f"Final grade set: {final.grade}{text}.")
    # The item that followed this one; the first still waiting when it was the last.
    rest = ids[ids.index(entry_id) + 1 :] + ids[: ids.index(entry_id)] if entry_id in ids else ids
    following = rest[0] if rest else None
    return redirect(reverse("audit:adjudication", args=[campaign.pk]) + filters.url_query(entry=following))


def _render(request: HttpRequest, campaign: Campaign, filters: QueueFilter, everything: list[Pending],
            current: int | None, *, status: int = 200) -> HttpResponse:  # fmt: skip
    ids = [p.entry_id for p in everything if filters.matches(p)]
    item = None
    previous = following = None
    if current is not None:
        index = ids.index(current)
        entry = Entry.objects.select_related("translation__item").get(pk=current)
        item = {**adjudication_item(entry), "position": index + 1}
        previous = ids[index - 1] if index > 0 else None
        following = ids[index + 1] if index + 1 < len(ids) else None
    base = reverse("audit:adjudication", args=[campaign.pk])
    context = {
        "campaign": campaign, "role": role_of(request.user), "item": item, "count": len(ids),
        "total": len(everything), "filters": filters, "filtered": bool(filters.params()), "facets": facets(everything),
        "action": base + filters.url_query(entry=current),
        "previous_url": base + filters.url_query(entry=previous) if previous else None,
        "next_url": base + filters.url_query(entry=following) if following else None,
        "clear_url": base,
    }  # fmt: skip
    return render(request, "audit/adjudication.html", context, status=status)
