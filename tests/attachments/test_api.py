"""A task's files through the JSON API: upload (multipart, write scope), list, download with the
page's safe headers, delete; the limits and hostile names as on the page; both storages.
Every JSON answer is also checked against the OpenAPI document."""

from __future__ import annotations

import io
import threading
import tracemalloc

import pytest
import sqlalchemy as sa

from tests.attachments.conftest import (
    attachment_rows,
    fetch,
    image_bytes,
    multipart_body,
    stored,
    use_storage,
)
from tests.attachments.test_hostile import ACTIVE_TYPES, HOSTILE_FILES
from tests.conftest import bearer
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services import attachments as attachment_service
from webapp.services.attachments import AttachmentLimits, IncomingFile

TEXT = b"Meeting notes\nsecond line\n"
ATTACHMENT_FIELDS = {"id", "taskId", "filename", "size", "contentType", "sha256", "createdAt",
                     "uploader", "url"}


def files_body(files) -> dict:
    """A multipart body of `file` parts: files are (name, bytes, claimed type)."""
    return multipart_body({"file": [(io.BytesIO(content), name, claimed)
                                    for name, content, claimed in files]})


def api_upload(client, task_id: int, token: str, files):
    return checked(client.post(f"/api/tasks/{task_id}/attachments", headers=bearer(token),
                               **files_body(files)), "post")


def audit_rows(app, prefix: str = "attachment.") -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditEvent)
                                       .where(AuditEvent.action.like(prefix + "%"))
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


# --- Upload, list, download, delete (both storages) ----------------------------------------

def test_owner_uploads_files_and_gets_201_with_their_objects(app, client, user, make_task,
                                                            make_token, storage):
    task_id = make_task(user, "With files")

    resp = api_upload(client, task_id, make_token(user, write=True),
                      [("notes.txt", TEXT, "text/plain"),
                       ("picture.png", image_bytes(), "application/octet-stream")])

    assert resp.status_code == 201
    created = resp.json["attachments"]
    assert resp.json["count"] == 2
    assert set(created[0]) == ATTACHMENT_FIELDS
    rows = attachment_rows(app, task_id)
    assert [(item["id"], item["filename"], item["size"], item["contentType"])
            for item in created] == [(row.id, row.filename, row.size, row.content_type)
                                     for row in rows]
    assert created[0]["contentType"] == "text/plain"
    assert created[1]["contentType"] == "image/png"  # from the bytes, not the claim
    assert created[0]["uploader"] == {"id": user.id, "username": "alice",
                                      "name": "Alice Example"}
    assert created[0]["url"] == f"/api/tasks/{task_id}/attachments/{rows[0].id}"
    assert created[0]["createdAt"].endswith("Z")
    assert stored(storage)[rows[0].storage_key] == TEXT


def test_owner_lists_a_tasks_files_oldest_first(app, client, user, make_task, make_token,
                                                storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    api_upload(client, task_id, token, [("a.txt", b"aaa", "text/plain")])
    api_upload(client, task_id, token, [("b.txt", b"bbbb", "text/plain")])

    resp = checked(client.get(f"/api/tasks/{task_id}/attachments", headers=bearer(token)))

    assert resp.status_code == 200
    assert [(item["filename"], item["size"]) for item in resp.json["attachments"]] == [
        ("a.txt", 3), ("b.txt", 4)]
    assert resp.json["count"] == 2


def test_download_through_the_api_has_the_pages_safe_headers(app, client, user, make_task,
                                                            make_token, storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    [item] = api_upload(client, task_id, token,
                        [("Résumé 2026.txt", TEXT, "text/plain")]).json["attachments"]

    resp = fetch(client, item["url"], headers=bearer(token))

    assert resp.status_code == 200 and resp.data == TEXT
    headers = resp.headers
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Length"] == str(len(TEXT))
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"Resume 2026.txt\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.txt"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox")
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"] == f'"{item["sha256"]}"'


def test_api_download_answers_ranges_and_conditional_requests(client, user, make_task,
                                                              make_token, storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    content = bytes(range(256)) * 40
    [item] = api_upload(client, task_id, token,
                        [("data.bin", content, "text/plain")]).json["attachments"]

    middle = fetch(client, item["url"], headers={**bearer(token), "Range": "bytes=1000-1999"})
    beyond = fetch(client, item["url"], headers={**bearer(token), "Range": "bytes=20000-"})
    same = fetch(client, item["url"], headers={**bearer(token),
                                               "If-None-Match": f'"{item["sha256"]}"'})

    assert middle.status_code == 206 and middle.data == content[1000:2000]
    assert middle.headers["Content-Range"] == "bytes 1000-1999/10240"
    assert beyond.status_code == 416
    assert same.status_code == 304 and same.data == b""


def test_owner_deletes_a_file_with_204_and_it_is_gone_from_the_store(app, client, user,
                                                                     make_task, make_token,
                                                                     storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    [item] = api_upload(client, task_id, token,
                        [("picture.png", image_bytes(), "image/png")]).json["attachments"]
    assert len(stored(storage)) == 2  # the file and its preview

    resp = client.delete(item["url"], headers=bearer(token))
    again = checked(client.delete(item["url"], headers=bearer(token)), "delete")

    assert resp.status_code == 204 and resp.data == b""
    assert again.status_code == 404 and again.json["code"] == "not_found"
    assert attachment_rows(app) == [] and stored(storage) == {}
    assert fetch(client, item["url"], headers=bearer(token)).status_code == 404


def test_api_download_is_streamed_not_read_whole(app, client, user, make_task, make_token,
                                                 storage):
    size = 6 * 1024 * 1024
    task_id = make_task(user)
    with app.app_context():
        actor = db.session.get(User, user.id)
        [row] = attachment_service.upload_attachments(
            actor, task_id, [IncomingFile("big.bin", io.BytesIO(b"z" * size))])
        url = f"/api/tasks/{task_id}/attachments/{row.id}"
        db.session.remove()
    token = make_token(user, write=True)

    tracemalloc.start()
    try:
        resp = client.get(url, headers=bearer(token))
        received = sum(len(chunk) for chunk in resp.response)
        resp.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert resp.status_code == 200 and received == size
    assert peak < size / 2, f"peak {peak} bytes for a {size}-byte download"


def test_session_reads_files_but_cannot_write_without_a_token(app, user_client, user, make_task,
                                                              make_token, local_storage):
    task_id = make_task(user)
    [item] = api_upload(user_client, task_id, make_token(user, write=True),
                        [("a.txt", b"aaa", "text/plain")]).json["attachments"]

    listed = user_client.get(f"/api/tasks/{task_id}/attachments")
    download = fetch(user_client, item["url"])
    upload = user_client.post(f"/api/tasks/{task_id}/attachments",
                              **files_body([("b.txt", b"b", "text/plain")]))
    delete = user_client.delete(item["url"])

    assert listed.status_code == 200 and download.status_code == 200
    assert upload.status_code == 401 and delete.status_code == 401
    assert [row.filename for row in attachment_rows(app)] == ["a.txt"]


# --- Limits: nothing stored ---------------------------------------------------------------

def test_file_over_the_size_limit_is_413_and_nothing_is_stored(app, client, user, make_task,
                                                               make_token, storage,
                                                               monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100_000)
    task_id = make_task(user)

    resp = api_upload(client, task_id, make_token(user, write=True),
                      [("ok.txt", b"fine\n", "text/plain"),
                       ("big.bin", b"x" * 100_001, "text/plain")])

    assert resp.status_code == 413
    assert resp.json["code"] == "too_large"
    assert "“big.bin” is larger than the limit of 97.7 KiB per file" in resp.json["error"]
    assert attachment_rows(app) == [] and stored(storage) == {}


def test_more_files_than_allowed_refuses_the_whole_request(app, client, user, make_task,
                                                           make_token, storage):
    task_id = make_task(user)
    limit = AttachmentLimits.from_config(app.config).max_files
    files = [(f"f{n}.txt", b"small\n", "text/plain") for n in range(limit + 1)]

    resp = api_upload(client, task_id, make_token(user, write=True), files)

    assert resp.status_code == 422
    assert resp.json["fields"]["file"] == [
        f"Send at most {limit} files at a time ({limit + 1} were sent). Nothing was saved."]
    assert attachment_rows(app) == [] and stored(storage) == {}


def test_upload_past_the_quota_is_refused_and_keeps_what_was_there(app, client, user,
                                                                   make_task, make_token,
                                                                   storage, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 10_000)
    task_id = make_task(user)
    token = make_token(user, write=True)
    assert api_upload(client, task_id, token,
                      [("a.bin", b"a" * 6_000, "text/plain")]).status_code == 201
    [kept] = attachment_rows(app)

    resp = api_upload(client, task_id, token, [("b.bin", b"b" * 3_000, "text/plain"),
                                               ("c.bin", b"c" * 3_000, "text/plain")])

    assert resp.status_code == 413
    assert resp.json["code"] == "quota_exceeded"
    assert "past your storage quota of 9.8 KiB (5.9 KiB used)" in resp.json["error"]
    assert [row.id for row in attachment_rows(app)] == [kept.id]
    assert set(stored(storage)) == {kept.storage_key}


def test_upload_without_a_file_is_422_and_a_json_body_415(app, client, user, make_task,
                                                           make_token, local_storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    url = f"/api/tasks/{task_id}/attachments"

    no_part = checked(client.post(url, headers=bearer(token),
                                  **multipart_body({"note": "no file here"})), "post")
    # What a browser sends for a file input left empty: a part with no name and no bytes.
    empty_input = checked(client.post(url, headers=bearer(token), **multipart_body(
        {"file": [(io.BytesIO(b""), "", "application/octet-stream")]})), "post")
    as_json = checked(client.post(url, headers=bearer(token), json={"file": "x"}), "post")

    assert no_part.status_code == 422 and empty_input.status_code == 422
    assert no_part.json["fields"]["file"] == ["Choose at least one file."]
    assert empty_input.json["fields"]["file"] == ["Choose at least one file."]
    assert as_json.status_code == 415 and as_json.json["code"] == "unsupported_media_type"
    assert attachment_rows(app) == []


@pytest.fixture
def limited_app(make_app, database_url):
    """An app with a 1 MB body limit everywhere and 2 files of 2 MB per upload."""
    return make_app(SQLALCHEMY_DATABASE_URI=database_url, MAX_CONTENT_LENGTH=1_000_000,
                    ATTACHMENT_MAX_BYTES=2_000_000, ATTACHMENT_MAX_FILES=2)


def test_api_upload_takes_more_than_the_app_wide_body_limit_with_a_write_token(
        limited_app, user, make_task, make_token, write=True):
    task_id = make_task(user)
    client = limited_app.test_client()
    token = make_token(user, write=True)

    resp = client.post(f"/api/tasks/{task_id}/attachments", headers=bearer(token),
                       **files_body([("big.txt", b"x" * 1_500_000, "text/plain")]))
    too_much = client.post(f"/api/tasks/{task_id}/attachments", headers=bearer(token),
                           **files_body([("huge.txt", b"x" * 4_500_000, "text/plain")]))

    assert resp.status_code == 201
    assert too_much.status_code == 413 and too_much.json["code"] == "request_too_large"
    assert [row.filename for row in attachment_rows(limited_app)] == ["big.txt"]


def test_large_upload_without_write_rights_gets_only_the_app_wide_body_limit(
        limited_app, user, make_task, make_token):
    task_id = make_task(user)
    client = limited_app.test_client()
    body = files_body([("big.txt", b"x" * 1_500_000, "text/plain")])

    anonymous = client.post(f"/api/tasks/{task_id}/attachments", **body)
    read_only = client.post(f"/api/tasks/{task_id}/attachments", headers=bearer(make_token(user)),
                            **files_body([("big.txt", b"x" * 1_500_000, "text/plain")]))

    assert anonymous.status_code == 413 and read_only.status_code == 413
    assert attachment_rows(limited_app) == []


# --- Hostile files and names ----------------------------------------------------------------

def test_hostile_files_through_the_api_are_neutralised_and_never_served_to_run(
        app, client, user, make_task, make_token, storage):
    task_id = make_task(user)
    token = make_token(user, write=True)

    resp = api_upload(client, task_id, token,
                      [(name, content, claimed) for name, content, claimed, _, _ in HOSTILE_FILES])

    assert resp.status_code == 201
    created = resp.json["attachments"]
    assert [(item["filename"], item["contentType"]) for item in created] == [
        (kept, detected) for _, _, _, kept, detected in HOSTILE_FILES]
    for item, (_, content, *_rest) in zip(created, HOSTILE_FILES, strict=True):
        download = fetch(client, item["url"], headers=bearer(token))
        headers = download.headers
        assert download.status_code == 200 and download.data == content, item["filename"]
        assert headers["Content-Disposition"].startswith("attachment; filename=")
        assert "\r" not in headers["Content-Disposition"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"].startswith("sandbox")
        assert not ACTIVE_TYPES.search(headers["Content-Type"]), headers["Content-Type"]
        assert "X-Injected" not in headers
    rows = attachment_rows(app, task_id)
    keys = {row.storage_key for row in rows} | {row.thumbnail_key for row in rows
                                                 if row.thumbnail_key}
    assert set(stored(storage)) == keys
    assert not any(row.storage_key in resp.get_data(as_text=True) for row in rows)


# --- Audit ------------------------------------------------------------------------------------

def test_api_uploads_and_deletes_are_audited_like_the_pages(app, client, user, make_task,
                                                            make_token, local_storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    [item] = api_upload(client, task_id, token,
                        [("a.txt", b"hello\n", "text/plain")]).json["attachments"]
    client.delete(item["url"], headers=bearer(token))

    events = audit_rows(app)

    assert [(event.action, event.actor_id, event.target_id) for event in events] == [
        ("attachment.create", user.id, str(item["id"])),
        ("attachment.delete", user.id, str(item["id"]))]
    # As on the page, plus where it came from: the API and the token's visible prefix.
    assert events[0].changes == {"task_id": task_id, "filename": "a.txt", "size": 6,
                                 "content_type": "text/plain", "via": "api",
                                 "token": token[:10]}
    assert events[1].changes == {"task_id": task_id, "filename": "a.txt", "size": 6,
                                 "via": "api", "token": token[:10]}


# --- A failing storage ----------------------------------------------------------------------

def test_unreachable_storage_is_a_clear_503_and_stores_nothing(app, client, user, make_task,
                                                               make_token, unreachable_s3):
    task_id = make_task(user)

    resp = api_upload(client, task_id, make_token(user, write=True),
                      [("a.txt", b"hello\n", "text/plain"), ("b.txt", b"again\n", "text/plain")])

    # At least the 5 s the service asks for (the rate limiter may raise it to its window).
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 5
    assert resp.json["code"] == "storage_unavailable"
    assert "Nothing was saved" in resp.json["error"]
    assert attachment_rows(app) == []


def test_download_while_the_storage_is_down_is_503_json(app, client, user, make_task, make_token,
                                                        local_storage, unreachable_s3):
    task_id = make_task(user)
    token = make_token(user, write=True)
    use_storage(app, local_storage)
    [item] = api_upload(client, task_id, token,
                        [("a.txt", b"hello\n", "text/plain")]).json["attachments"]
    use_storage(app, unreachable_s3)

    resp = checked(client.get(item["url"], headers=bearer(token)))

    assert resp.status_code == 503 and resp.json["code"] == "storage_unavailable"


def test_a_deactivated_owners_token_no_longer_reaches_the_files(app, client, user, make_task,
                                                                make_token, local_storage):
    task_id = make_task(user)
    token = make_token(user, write=True)
    [item] = api_upload(client, task_id, token,
                        [("a.txt", b"hello\n", "text/plain")]).json["attachments"]
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
        db.session.remove()

    download = fetch(client, item["url"], headers=bearer(token))
    delete = client.delete(item["url"], headers=bearer(token))

    assert download.status_code == 401 and delete.status_code == 401
    assert len(attachment_rows(app)) == 1


def test_quota_holds_under_concurrent_api_uploads(app, user, make_task, make_token, storage,
                                                  monkeypatch):
    """Five uploads of 60 KB with one token, released together against a 150 KB quota: two
    fit, the others are refused and leave nothing stored."""
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 150_000)
    task_id = make_task(user)
    token = make_token(user, write=True)
    scripts = [app.test_client() for _ in range(5)]
    barrier = threading.Barrier(len(scripts))
    statuses: list[int] = []

    def send(script, n: int) -> None:
        body = files_body([(f"race-{n}.bin", bytes([65 + n]) * 60_000, "text/plain")])
        barrier.wait()
        resp = script.post(f"/api/tasks/{task_id}/attachments", headers=bearer(token), **body)
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=send, args=(script, n))
               for n, script in enumerate(scripts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    rows = attachment_rows(app)
    assert sorted(statuses) == [201, 201, 413, 413, 413]
    assert sum(row.size for row in rows) == 120_000
    assert set(stored(storage)) == {row.storage_key for row in rows}
