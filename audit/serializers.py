"""REST API input shapes (the output of grading endpoints is audit/payloads.py's)."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import serializers

from catalog.models import Dataset
from config.inputs import MAX_INT, MAX_SMALL, count_field, id_field

from .models import Assessment, Campaign
from .payloads import item_label


class NextItemInput(serializers.Serializer):
    exclude = serializers.ListField(child=id_field(), required=False, default=list)


class GradeInput(serializers.Serializer):
    grade = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    post_edit = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    seconds = serializers.FloatField(required=False, default=0.0)
    next = serializers.BooleanField(required=False, default=False, help_text="Also lease and return the next item.")
    exclude = serializers.ListField(child=id_field(), required=False, default=list)
    key = serializers.UUIDField(required=False, allow_null=True, default=None,
                                help_text="A fresh UUID per grade: a retry with the same key gets the stored grade back.")


class SkipInput(serializers.Serializer):
    flag = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AdjudicateInput(serializers.Serializer):
    grade = serializers.CharField()
    post_edit_of = id_field(required=False, allow_null=True, default=None)


class CampaignInput(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    dataset = serializers.SlugRelatedField(slug_field="name", queryset=Dataset.objects.all())
    annotators = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(), many=True)
    overlap = count_field(high=MAX_SMALL, low=-MAX_SMALL, default=2)  # campaigns.validate_spec says what makes sense
    control_share = serializers.FloatField(default=0.05)
    sampling = serializers.ChoiceField(choices=Campaign.Sampling.choices, default=Campaign.Sampling.ALL)
    sample_size = count_field(required=False, allow_null=True, default=None)
    target_language = serializers.CharField(default="fr")
    engine = serializers.CharField(required=False, allow_blank=True, default="")
    model = serializers.CharField(required=False, allow_blank=True, default="")
    prompt_version = serializers.CharField(required=False, allow_blank=True, default="")
    lease_minutes = count_field(high=MAX_SMALL, low=-MAX_SMALL, default=15)
    seed = count_field(high=MAX_INT, low=0, default=0)


class CampaignSummary(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name")

    class Meta:
        model = Campaign
        fields = ["id", "name", "dataset", "sampling", "sample_size", "overlap", "control_share", "lease_minutes",
                  "population", "size", "created_at"]  # fmt: skip


class MyGrade(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="entry.campaign_id")
    # The id the grading page showed (payloads.item_label), never the dataset id: a control's would be its original's.
    item = serializers.SerializerMethodField()

    def get_item(self, assessment) -> str:
        return item_label(assessment.entry_id)

    class Meta:
        model = Assessment
        fields = ["id", "campaign", "entry", "item", "grade", "categories", "post_edit", "comment", "seconds",
                  "created_at"]  # fmt: skip
