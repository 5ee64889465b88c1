"""Campaign pages: list, creation (admins), statistics and agreement, estimates, adjudication."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .access import READERS, campaign_for_reader, require_role, visible_campaigns
from .campaign_stats import campaign_estimates, campaign_statistics, pending_adjudications
from .campaigns import CampaignSpec, create_campaign
from .estimates import USABLE_RULES
from .grading import GradingError, do_adjudicate
from .models import Campaign, Dataset
from .roles import ADMIN, ANNOTATOR, role_of


class CampaignForm(forms.Form):
    name = forms.SlugField(max_length=100)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    annotators = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(groups__name=ANNOTATOR).order_by("username"), widget=forms.CheckboxSelectMultiple
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
    return render(request, "audit/campaigns.html", {"campaigns": visible_campaigns(request.user), "role": role})


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
    context = {"campaign": campaign, "est": campaign_estimates(campaign, rule=rule, margin=margin),
               "rules": list(USABLE_RULES), "margin_points": round(margin * 100, 1), "role": role_of(request.user)}  # fmt: skip
    return render(request, "audit/estimates.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def adjudication_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_for_reader(request.user, campaign_id)
    if request.method == "POST":
        require_role(request.user, *READERS)
        post_edit_of = request.POST.get("post_edit_of") or None
        try:
            final = do_adjudicate(
                int(request.POST.get("entry", "0")), grade=request.POST.get("grade", ""), reviewer=request.user,
                post_edit_of=int(post_edit_of) if post_edit_of else None,
            )  # fmt: skip
        except (GradingError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            messages.success(request, f"Final grade set: {final.grade}.")
        return redirect("audit:adjudication", campaign.pk)
    pending = pending_adjudications(campaign, limit=20)
    return render(request, "audit/adjudication.html", {"campaign": campaign, "pending": pending,
                                                       "role": role_of(request.user)})  # fmt: skip
