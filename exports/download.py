"""Serving a snapshot file: streamed from disk in fixed chunks, resumable with HTTP Range.

The whole file goes out through FileResponse (the server's sendfile where it has one);
a range through a generator reading 256 KiB at a time. Either way the web process
holds one chunk, whatever the file's size (bench/export_bench.py watches its memory).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from .build import snapshot_path
from .models import Snapshot

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive), None for "send it all", or "unsatisfiable" (RFC 9110 section 14.2).

    Sent whole: no Range, a unit other than bytes (a server MUST ignore a unit it does not
    understand), or several ranges (a server MAY ignore those). Unsatisfiable: a bytes range
    that is malformed or lies outside the file.
    """
    unit, _, _ = header.partition("=")
    if not header or unit.strip().lower() != "bytes" or "," in header:
        return None
    found = _RANGE.match(header.strip())
    if not found or (not found.group(1) and not found.group(2)):
        return "unsatisfiable"
    first, last = found.groups()
    if not first:  # "bytes=-N": the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as source:
        source.seek(start)
        while length > 0:
            data = source.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data


def snapshot_download(request, snapshot: Snapshot) -> HttpResponse:
    path = snapshot_path(snapshot.file)
    size = path.stat().st_size
    name = f"{snapshot.rule.name}-{snapshot.pk}{path.suffix}"
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted == "unsatisfiable":
        detail = f"range {request.headers.get('Range')} is malformed or lies outside the file of {size} bytes"
        response = HttpResponse(json.dumps({"detail": detail, "field": "Range"}), status=416,
                                content_type="application/json")  # fmt: skip
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response: HttpResponse = FileResponse(
            open(path, "rb"), as_attachment=True, filename=name, content_type="application/octet-stream"
        )
    else:
        start, end = wanted  # type: ignore[misc]
        response = StreamingHttpResponse(
            _chunks(path, start, end - start + 1), status=206, content_type="application/octet-stream"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{snapshot.sha256}"'
    response["X-Snapshot-Sha256"] = snapshot.sha256
    return response
