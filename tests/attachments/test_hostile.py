"""Hostile files and names: nothing executable is served inline, nothing is stored outside the
storage root, names are neutralised, the type comes from the content. Both storages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.attachments.conftest import (
    attachment_rows,
    fetch,
    image_bytes,
    multipart_body,
    stored,
)
from webapp.services.attachments import safe_filename
from webapp.services.storage import KEY_PATTERN, LocalStorage

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(2)</script></svg>")

# (name sent, bytes, claimed type, stored name, detected type)
HOSTILE_FILES = [
    ("evil.html", HTML, "text/html", "evil.html", "text/html"),
    ("drawing.svg", SVG, "image/svg+xml", "drawing.svg", "image/svg+xml"),
    ("../../x", b"escape attempt\n", "text/plain", "x", "text/plain"),
    ("invoice\u202egpj.exe\x00.png", b"MZ not really\n", "image/png", "invoicegpj.exe.png",
     "text/plain"),
    ("empty.txt", b"", "text/plain", "empty.txt", "application/octet-stream"),
    ("", b"a file without a name\n", "text/plain", "unnamed", "text/plain"),
    ("holiday.html", image_bytes("PNG"), "text/html", "holiday.html", "image/png"),
    ("pretend.png", HTML, "image/png", "pretend.png", "text/html"),
    # The multipart header's quoted string eats the backslashes before any view sees them;
    # `safe_filename` itself keeps only the last component (test_safe_filename below).
    ("C:\\Windows\\win.ini", b"[fonts]\n", "text/plain", "C_Windowswin.ini", "text/plain"),
    ("CON.txt", b"device\n", "text/plain", "_CON.txt", "text/plain"),
    # As a browser sends them: quotes and line breaks percent-encoded (HTML's multipart rule);
    # Werkzeug decodes %22 back to a quote, and leaves the rest as typed.
    ("a%0D%0AX-Injected: 1.txt", b"header\n", "text/plain", "a%0D%0AX-Injected_ 1.txt",
     "text/plain"),
    ("<img src=x onerror=%22alert(1)%22>.png", b"text\n", "image/png",
     "_img src=x onerror=_alert(1)__.png", "text/plain"),
]
# Types a browser could run; never served as such.
ACTIVE_TYPES = re.compile(r"html|svg|xml|javascript|ecmascript", re.IGNORECASE)


@pytest.fixture
def uploaded(app, user_client, user, make_task, storage):
    task_id = make_task(user)
    files = [(name, content, claimed) for name, content, claimed, _, _ in HOSTILE_FILES]
    resp = user_client.post(f"/tasks/{task_id}/attachments", **multipart_body({
        "csrf_token": user_client.csrf_token("/tasks"),
        "file": [(io.BytesIO(content), name, claimed)
                 for name, content, claimed in files],
    }))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return task_id, attachment_rows(app, task_id)


def test_hostile_names_are_neutralised_and_types_come_from_the_content(uploaded):
    _, rows = uploaded

    assert [(row.filename, row.content_type) for row in rows] == [
        (stored_name, detected) for _, _, _, stored_name, detected in HOSTILE_FILES]


def test_every_hostile_file_downloads_as_an_attachment_that_cannot_run(user_client, uploaded):
    task_id, rows = uploaded

    for row, (_, content, *_rest) in zip(rows, HOSTILE_FILES, strict=True):
        resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}")
        headers = resp.headers
        assert resp.status_code == 200 and resp.data == content, row.filename
        assert headers["Content-Disposition"].startswith("attachment; filename="), row.filename
        assert "\r" not in headers["Content-Disposition"]
        assert "\n" not in headers["Content-Disposition"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"].startswith("sandbox")
        assert not ACTIVE_TYPES.search(headers["Content-Type"]), (row.filename,
                                                                  headers["Content-Type"])
        assert "X-Injected" not in headers


def test_only_real_raster_images_get_a_preview(user_client, uploaded):
    task_id, rows = uploaded

    previews = {row.filename for row in rows if row.thumbnail_key}
    html_preview = fetch(user_client, f"/tasks/{task_id}/attachments/{rows[0].id}/thumbnail")
    svg_preview = fetch(user_client, f"/tasks/{task_id}/attachments/{rows[1].id}/thumbnail")

    assert previews == {"holiday.html"}  # PNG bytes, whatever the name says
    assert html_preview.status_code == 404 and svg_preview.status_code == 404


def test_the_page_shows_hostile_names_as_text(user_client, uploaded):
    task_id, _ = uploaded

    html = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    assert "_img src=x onerror=_alert(1)__.png" in html
    assert "<img src=x" not in html
    assert "\u202e" not in html


def test_nothing_is_stored_outside_the_storage_root(storage, uploaded, tmp_path):
    _, rows = uploaded
    keys = {row.storage_key for row in rows} | {row.thumbnail_key for row in rows
                                                 if row.thumbnail_key}

    assert set(stored(storage)) == keys
    assert all(KEY_PATTERN.fullmatch(key) for key in keys)
    if isinstance(storage, LocalStorage):
        files = {path for path in Path(tmp_path).rglob("*") if path.is_file()}
        assert all(path.is_relative_to(storage.root) for path in files), files
        assert {path.name for path in files} == keys
    else:
        from tests.attachments.conftest import s3_client

        names = [item["Key"] for item in s3_client(storage.settings.endpoint_url)
                 .list_objects_v2(Bucket=storage.settings.bucket)["Contents"]]
        assert sorted(names) == sorted(f"attachments/{key}" for key in keys)


def test_nothing_uploaded_is_reachable_under_static_or_by_its_key(app, user_client, uploaded,
                                                                  client):
    task_id, rows = uploaded
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    for row in rows:
        assert row.storage_key not in page
        for path in (f"/static/{row.storage_key}", f"/static/attachments/{row.storage_key}",
                     f"/static/{row.storage_key[:2]}/{row.storage_key}",
                     f"/static/../instance/attachments/{row.storage_key[:2]}/{row.storage_key}",
                     f"/attachments/{row.storage_key}"):
            resp = fetch(user_client, path)
            assert resp.status_code == 404, path
    # Under /static, only the app's own files exist.
    assert not any(Path(app.static_folder).rglob("*.part"))


@pytest.mark.parametrize("sent,kept", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("/absolute/path.txt", "path.txt"),
    ("..", "unnamed"),
    ("...", "unnamed"),
    ("   ", "unnamed"),
    ("\x00", "unnamed"),
    ("a\u200bb\u2066c\u2069.txt", "abc.txt"),
    ("nul.tar.gz", "_nul.tar.gz"),
    ("LPT9", "_LPT9"),
    ("trailing dots... ", "trailing dots"),
    ("tab\tand\nnewline.txt", "tabandnewline.txt"),
    ("multiple   spaces.txt", "multiple spaces.txt"),
    ('what?*"|:.txt', "what_____.txt"),
    ("Ünïcödé ✓.txt", "Ünïcödé ✓.txt"),
])
def test_safe_filename(sent, kept):
    assert safe_filename(sent) == kept


def test_content_disposition_stays_one_safe_header_whatever_the_name():
    from webapp.attachments.http import content_disposition

    value = content_disposition('a"b\\c\r\nX-Injected: 1;.txt')

    assert "\r" not in value and "\n" not in value
    assert value == ('attachment; filename="a_b_c__X-Injected_ 1_.txt"; '
                     "filename*=UTF-8''a%22b%5Cc%0D%0AX-Injected%3A%201%3B.txt")


def test_long_names_are_cut_to_255_bytes_keeping_the_extension():
    name = safe_filename("é" * 300 + ".jpeg")

    assert name.endswith(".jpeg")
    assert len(name.encode("utf-8")) <= 255
    assert name.startswith("é" * 100)
