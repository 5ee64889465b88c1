"""Audit campaigns: who grades which translation, and what they said.

Datasets and items live in catalog/models.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Dataset

# --- Audit campaigns: who grades which translation, and what they said ------------------
# One function decides who gets what: audit/assignment.py (`next_assignment`). Writes
# live in audit/campaigns.py (creating a campaign) and audit/grading.py (grades, skips,
# undo, adjudication).

DEFAULT_GUIDELINES = """\
High: the French says what the English says, reads naturally, and the answer still fits the image; \
<image> and the option letters are intact. Example: "What colour is the ball?" / "Red." -> \
"De quelle couleur est le ballon ?" / "Rouge."
Moderate: the meaning and the answer are kept, but the French is clumsy, a term is off or a small detail \
is lost; a light post-edit would fix it. Example: "Combien de pommes il y a sur la table ?" (no inversion), \
"Le balle est rouge." (wrong gender).
Low: the meaning changed, the answer no longer fits the image ("oui" became "non", a count or a colour \
changed), part is left in English, or the structure is broken (<image> missing, option letters changed). \
Example: "Is there a dog?" -> "Y a-t-il un chat ?"
"""
"""What the grading page shows until an admin writes a campaign's own guidelines."""


class Campaign(models.Model):
    """Which translations are audited, how they are sampled, and by how many people."""

    class Sampling(models.TextChoices):
        ALL = "all", "all translations"
        RANDOM = "random", "random sample of N"
        STRATIFIED = "stratified", "random N, stratified by task type"
        UNCERTAIN = "uncertain", "most uncertain first (suggested grade low, then moderate)"

    name = models.SlugField(max_length=100, unique=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="campaigns")
    target_language = models.CharField(max_length=8, default="fr")
    engine = models.CharField(max_length=32, blank=True, help_text="Blank: any engine.")
    model = models.CharField(max_length=200, blank=True, help_text="Blank: any model.")
    prompt_version = models.CharField(max_length=32, blank=True, help_text="Blank: any prompt version.")
    sampling = models.CharField(max_length=16, choices=Sampling.choices, default=Sampling.ALL)
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    seed = models.PositiveIntegerField(default=0)
    overlap = models.PositiveSmallIntegerField(default=2, help_text="Annotators per translation (k).")
    control_share = models.FloatField(default=0.05, help_text="Share of each annotator's queue that is control items.")
    lease_minutes = models.PositiveSmallIntegerField(default=15)
    guidelines = models.TextField(
        default=DEFAULT_GUIDELINES, blank=True,
        help_text="What high / moderate / low mean in this campaign, with examples; shown on the grading page.",
    )
    annotators = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="campaigns")
    population = models.PositiveIntegerField(default=0, help_text="Translations matching the filter.")
    size = models.PositiveIntegerField(default=0, help_text="Translations sampled for the audit (controls aside).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """An annotator taking part in a campaign, with the counters that space control items."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    served = models.PositiveIntegerField(default=0, help_text="Leases granted so far (controls included).")
    controls_served = models.PositiveIntegerField(default=0)
    graded = models.PositiveIntegerField(default=0, help_text="Regular (non-control) items graded.")
    # A per-annotator phase so controls are evenly spaced but not at the same positions for everyone.
    control_phase = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "annotator"], name="membership_unique")]


class Entry(models.Model):
    """One translation to audit in a campaign (or a control item made by corrupting one)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="entries")
    translation = models.ForeignKey("translation.Translation", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(help_text="Queue order; the sampling decides it.")
    stratum = models.CharField(max_length=32, help_text="The item's task type.")
    is_control = models.BooleanField(default=False)
    control_kind = models.CharField(max_length=32, blank=True)
    control_turns = models.JSONField(null=True, blank=True, help_text="The corrupted turns shown instead.")
    flagged = models.BooleanField(default=False, help_text="An annotator reported a problem with the item.")

    class Meta:
        indexes = [models.Index(fields=["campaign", "is_control", "position"], name="entry_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "translation"], condition=models.Q(is_control=False), name="entry_unique_translation"
            )
        ]


class Assignment(models.Model):
    """One of the k grading slots of an entry. A slot is open, leased to one annotator, or done.

    There are exactly k slots per entry (one per annotator for controls), so a
    translation can never collect more than k grades; the partial unique constraint
    keeps one annotator from holding two slots of the same entry.
    """

    class State(models.TextChoices):
        OPEN = "open"
        LEASED = "leased"
        DONE = "done"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="slots")
    slot = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField(help_text="Copy of the entry's position: the queue index needs it.")
    is_control = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    leased_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    # The holder's Membership.served when they leased it: their place in their own sequence,
    # which keeps a control far from its original (audit/assignment.py, CONTROL_DISTANCE).
    serial = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "slot"], name="assignment_unique_slot"),
            models.UniqueConstraint(
                fields=["entry", "annotator"], condition=models.Q(annotator__isnull=False), name="assignment_one_per_annotator"
            ),
        ]
        indexes = [
            # next_assignment walks the open and leased slots of a campaign in queue order.
            models.Index(
                fields=["campaign", "is_control", "position", "slot"],
                condition=models.Q(state__in=["open", "leased"]),
                name="assignment_queue_idx",
            ),
            models.Index(fields=["annotator", "state"], name="assignment_holder_idx"),
            # The controls an annotator was served lately: their originals are held back (assignment.py).
            models.Index(
                fields=["annotator", "campaign", "serial"], condition=models.Q(is_control=True),
                name="assignment_control_serial_idx",
            ),
        ]


class Skip(models.Model):
    """An annotator passed on an entry.

    A plain skip comes back to them once, after everything else (audit/assignment.py); a
    flag, or a second skip, sets the entry aside for them for good.
    """

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="skips")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    flagged = models.BooleanField(default=False)
    offered_again = models.BooleanField(default=False, help_text="Already served back to the annotator once.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "annotator"], name="skip_unique")]


class Assessment(models.Model):
    """One annotator's current grade of an entry. Every change is also written to AssessmentChange."""

    class Grade(models.TextChoices):
        HIGH = "high"
        MODERATE = "moderate"
        LOW = "low"

    class Category(models.TextChoices):
        MEANING = "meaning", "meaning changed"
        IMAGE_FIT = "image_fit", "answer no longer fits the image"
        STRUCTURE = "structure", "structure broken (<image>, options)"
        UNTRANSLATED = "untranslated", "untranslated"
        FLUENCY = "fluency", "grammar or fluency"
        TERMINOLOGY = "terminology", "terminology"

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="assessment")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="assessments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessments")
    grade = models.CharField(max_length=16, choices=Grade.choices)
    categories = models.JSONField(default=list, blank=True)
    post_edit = models.JSONField(null=True, blank=True, help_text="Corrected turns, if the annotator wrote any.")
    comment = models.TextField(blank=True)
    seconds = models.FloatField(default=0.0, help_text="Time the annotator spent on the item.")
    client_key = models.UUIDField(
        null=True, blank=True, help_text="The grading page's key for this grade: a retry carrying it gets this grade back."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "annotator"], name="assessment_unique_annotator"),
            models.UniqueConstraint(fields=["annotator", "client_key"], name="assessment_unique_client_key"),
        ]
        indexes = [models.Index(fields=["annotator", "-created_at"], name="assessment_mine_idx")]


class AssessmentChange(models.Model):
    """History: who changed which grade, when, from what to what (grades are never overwritten silently)."""

    class Action(models.TextChoices):
        GRADE = "grade"
        UNDO = "undo"
        ADJUDICATE = "adjudicate"

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="changes")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)


class FinalGrade(models.Model):
    """The grade a translation ends with: the k graders' consensus, or a reviewer's decision."""

    class Source(models.TextChoices):
        CONSENSUS = "consensus"
        ADJUDICATION = "adjudication"

    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="final")
    grade = models.CharField(max_length=16, choices=Assessment.Grade.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    final_turns = models.JSONField(null=True, blank=True, help_text="A post-edit chosen as the final text.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)


class PendingAdjudication(models.Model):
    """An entry whose k grades disagree, waiting for a reviewer. Deleted once decided."""

    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="pending")
    created_at = models.DateTimeField(auto_now_add=True)


class LoginFailure(models.Model):
    """A failed login, kept briefly: audit/login_limit.py refuses logins after too many."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
