"""Snapshot downloads answer Range as RFC 9110 says (section 14): resumable, and never a broken error body.

- `bytes=N-`, `bytes=-N`, `bytes=N-M`: 206 with that part;
- a unit other than bytes (`items=0-5`): ignored, the whole file (200);
- a malformed or outside bytes range: 416 with `Content-Range: bytes */<size>` and a JSON body.
"""

from __future__ import annotations

import json

import pytest
from export_world import build, graded_world
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exports.download import parse_range


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def download(db):
    _dataset, _campaign, admin = graded_world(24)
    snapshot = build("high", {"min_grade": "high"}, format="jsonl", admin=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
    whole = client.get(f"/api/v1/snapshots/{snapshot.pk}/download/")
    body = b"".join(whole.streaming_content)
    return lambda header: client.get(f"/api/v1/snapshots/{snapshot.pk}/download/", HTTP_RANGE=header), body


@pytest.mark.parametrize("header", ["items=0-5", "ITEMS=0-5", "none", "pages=1-"])
def test_a_range_in_another_unit_is_ignored_and_the_whole_file_comes(download, header):
    get, body = download
    response = get(header)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body


def test_a_range_in_bytes_still_gives_its_part(download):
    get, body = download
    response = get("bytes=5-9")
    assert response.status_code == 206 and b"".join(response.streaming_content) == body[5:10]
    assert response["Content-Range"] == f"bytes 5-9/{len(body)}"


@pytest.mark.parametrize("header", ['bytes="x', "bytes=x-y", "bytes=-", "bytes=9-5", "bytes=-0", 'bytes=\\"}{'])
def test_a_malformed_bytes_range_is_a_416_with_a_json_body(download, header):
    get, body = download
    response = get(header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(body)}"
    answer = json.loads(response.content)
    assert answer["field"] == "Range" and header in answer["detail"]


def test_a_range_past_the_end_is_a_416(download):
    get, body = download
    response = get(f"bytes={len(body)}-")
    assert response.status_code == 416 and json.loads(response.content)["field"] == "Range"


def test_parse_range_by_rule():
    assert parse_range("", 100) is None
    assert parse_range("items=0-5", 100) is None
    assert parse_range("bytes=0-1,5-6", 100) is None
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range('bytes="x', 100) == "unsatisfiable"
