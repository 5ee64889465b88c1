"""Roles, login and the home page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from accounts.roles import role_of
from catalog.models import Dataset, Item
from catalog.services import import_dataset

pytestmark = pytest.mark.django_db


def test_the_three_role_groups_exist_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= {"annotator", "reviewer", "admin"}


@pytest.mark.parametrize("role", ["annotator", "reviewer", "admin"])
def test_createuser_puts_the_user_in_the_role_and_prints_the_password(role, capsys):
    call_command("createuser", "ana", role=role, password="s3cret-pass")
    user = User.objects.get(username="ana")
    assert role_of(user) == role and user.check_password("s3cret-pass")
    assert user.is_staff == (role == "admin")
    assert "s3cret-pass" in capsys.readouterr().out


def test_createuser_generates_a_password_and_rejects_unknown_roles(capsys):
    call_command("createuser", "bob", role="reviewer")
    password = capsys.readouterr().out.split("password ")[1].strip().strip("'")
    assert User.objects.get(username="bob").check_password(password)
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        call_command("createuser", "carl", "--role", "boss")


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_then_home_lists_datasets_with_counts(client, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(
        '[{"id": "a", "conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]},'
        ' {"id": "b", "conversations": [{"from": "human", "value": "Q2?"}, {"from": "gpt", "value": "B."}]}]'
    )
    import_dataset(path, format="llava", name="two-items")
    Dataset.objects.create(name="empty", kind="benchmark", source_format="pope")
    # The datasets table is on an admin's home page (annotators see their campaigns: tests/home/test_home_roles.py).
    call_command("createuser", "ana", role="admin", password="s3cret-pass")

    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/accounts/login/", {"username": "ana", "password": "s3cret-pass"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "two-items" in html and "empty" in html
    rows = {row.split("</td>")[0].split(">")[-1]: row for row in html.split("<tr>")[2:]}
    assert '<td class="num">2</td>' in rows["two-items"] and '<td class="num">0</td>' in rows["empty"]
    assert Item.objects.count() == 2


def test_wrong_password_shows_an_error(client):
    call_command("createuser", "ana", role="annotator", password="s3cret-pass")
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200 and "didn't match" in response.content.decode()


@pytest.mark.parametrize(
    "username, password, message",
    [("ana", "abc", "too short"), ("anastasia", "anastasia1", "too similar to the username")],
)
def test_createuser_refuses_a_password_the_validators_refuse(username, password, message):
    with pytest.raises(CommandError, match=message):
        call_command("createuser", username, role="annotator", password=password)
    assert not User.objects.filter(username=username).exists(), "a refused password creates no user"
