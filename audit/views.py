"""Pages of the audit app. Thin: queries here, writes in services.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from translation.models import Translation

from .models import Dataset, Item
from .roles import role_of


def _count_per_dataset(queryset, dataset_field: str) -> Subquery:
    """A correlated COUNT, so item and translation counts do not multiply in one join."""
    counted = queryset.order_by().values(dataset_field).annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=IntegerField())


@login_required
def home(request: HttpRequest) -> HttpResponse:
    datasets = Dataset.objects.annotate(
        item_count=_count_per_dataset(Item.objects.filter(dataset_id=OuterRef("pk")), "dataset_id"),
        translation_count=_count_per_dataset(
            Translation.objects.filter(item__dataset_id=OuterRef("pk")), "item__dataset_id"
        ),
    )
    return render(request, "audit/home.html", {"datasets": datasets, "role": role_of(request.user)})
