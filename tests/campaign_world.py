"""Helpers for the campaign tests: a dataset with French translations, users per role, a campaign."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import Group, User

from audit.campaigns import CampaignSpec, create_campaign
from audit.models import Campaign
from catalog.models import Dataset, Item
from translation.models import Translation

PASSWORD = "s3cret-pass-word"
TASKS = ("yes_no", "caption", "multiple_choice", "reading")


def make_user(name: str, role: str, *, password: bool = False) -> User:
    """A user in a role. Hashing a password costs ~0.3 s, so only users who log in with a form get one."""
    user = User.objects.create_user(name, password=PASSWORD if password else None, is_staff=role == "admin")
    # get_or_create: transactional tests flush the groups that migration 0002_roles made.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_dataset(n: int, *, name: str = "mini", image_root: Path | None = None) -> Dataset:
    dataset = Dataset.objects.create(name=name, kind="train", source_format="llava",
                                     image_root=str(image_root or ""))  # fmt: skip
    items = Item.objects.bulk_create(
        Item(dataset=dataset, external_id=f"{name}-{i}", image=f"img{i % 3}.png" if image_root else "",
             conversations=[{"from": "human", "value": f"<image>\nIs shape {i} red?"},
                            {"from": "gpt", "value": "Yes" if i % 2 else "No, it is blue."}],
             task_type=TASKS[i % len(TASKS)], source_index=i, content_hash=str(i))  # fmt: skip
        for i in range(n)
    )
    Translation.objects.bulk_create(
        Translation(item=item, engine="apertium",
                    turns=[{"from": "human", "value": f"<image>\nLa forme {i} est-elle rouge ?"},
                           {"from": "gpt", "value": "Oui" if i % 2 else "Non, elle est bleue."}],
                    suggested_grade=("high", "moderate", "low", "")[i % 4])  # fmt: skip
        for i, item in enumerate(items)
    )
    return dataset


def make_campaign(dataset: Dataset, annotators: list[User], *, admin: User | None = None, **options) -> Campaign:
    admin = admin or User.objects.filter(is_staff=True).first() or make_user("boss", "admin")
    spec = CampaignSpec(name=options.pop("name", "camp"), dataset=dataset, annotators=annotators, **options)
    return create_campaign(spec, acting_user=admin)
