"""`python manage.py simulate_grading --campaign NAME|ID`: simulated annotators grade a campaign.

Adds simulated annotators (audit/simulated.py) to the campaign until it has
--annotators of them (default: its overlap k), then lets them grade through the grading
services until their queues are empty (or --limit grades each). Their grades are
labelled simulated on every page, count and snapshot. A second run grades only what is left.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import Campaign, Membership
from audit.simulated import (
    GradingSummary, add_to_campaign, ensure_simulated_annotators, grade_campaign, simulated_user_ids,
)  # fmt: skip


class Command(BaseCommand):
    help = "Let simulated annotators grade a campaign through the grading services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="The campaign's name or id.")
        parser.add_argument("--annotators", type=int, help="Simulated annotators it should have (default: its k).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the graders' draws (same seed, same grades).")
        parser.add_argument("--accuracy", type=float, default=0.85, help="Chance a grader gives the true grade.")
        parser.add_argument("--limit", type=int, help="At most this many grades per annotator in this run.")

    def handle(self, *args, campaign: str, annotators: int | None, seed: int, accuracy: float, limit: int | None,
               **options) -> None:  # fmt: skip
        found = self._campaign(campaign)
        if not 0 <= accuracy <= 1:
            raise CommandError(f"--accuracy must lie between 0 and 1, got {accuracy}")
        wanted = annotators if annotators is not None else found.overlap
        if wanted < 1:
            raise CommandError(f"--annotators must be at least 1, got {wanted}")
        try:
            users = ensure_simulated_annotators(wanted)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        member_ids = Membership.objects.filter(campaign=found).values_list("annotator_id", flat=True)
        have = len(simulated_user_ids(member_ids))
        if have < wanted:
            joined = add_to_campaign(found, users)
            self.stdout.write(f"{joined} simulated annotator(s) joined campaign {found.name}")

        def report(summary: GradingSummary) -> None:
            self.stdout.write(f"  {summary.graded:,} grades, {summary.grades_per_second:.0f}/s")

        summary = grade_campaign(found, seed=seed, limit=limit, accuracy=accuracy, progress=report)
        self.stdout.write(str(summary))

    def _campaign(self, text: str) -> Campaign:
        found = Campaign.objects.filter(name=text).first()
        if found is None and text.isascii() and text.isdigit():
            found = Campaign.objects.filter(pk=int(text)).first()
        if found is None:
            known = ", ".join(Campaign.objects.values_list("name", flat=True)[:20]) or "none yet"
            raise CommandError(f"no campaign named or numbered {text!r}; campaigns: {known}")
        return found
