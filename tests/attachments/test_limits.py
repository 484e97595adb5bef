"""The limits: bytes per file (413), files per request (422), the per-user quota (413, also
under concurrent uploads), and the upload route's own request body limit. Whatever is
refused leaves nothing stored and no row."""

from __future__ import annotations

import io
import threading

import pytest

from tests.attachments.conftest import attachment_rows, multipart_body, stored, upload
from tests.conftest import CSRF_META, Client, login
from webapp.services.attachments import AttachmentLimits
from webapp.services.storage import get_storage


def test_file_over_the_size_limit_is_413_and_nothing_is_stored(app, user_client, user,
                                                                make_task, storage,
                                                                monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100_000)
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("big.bin", b"x" * 100_001, "text/plain")])

    assert resp.status_code == 413
    assert "larger than the limit of 97.7 KiB per file" in resp.get_data(as_text=True)
    assert attachment_rows(app) == [] and stored(storage) == {}


def test_a_file_of_exactly_the_limit_is_accepted(app, user_client, user, make_task, storage,
                                                 monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100_000)
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("edge.bin", b"x" * 100_000, "text/plain")])

    assert resp.status_code == 303
    assert [row.size for row in attachment_rows(app)] == [100_000]


def test_one_oversized_file_refuses_the_whole_request(app, user_client, user, make_task, storage,
                                                      monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100_000)
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("first.txt", b"ok\n", "text/plain"),
                                         ("second.txt", b"ok too\n", "text/plain"),
                                         ("third.bin", b"x" * 200_000, "text/plain")],
                  htmx=True)

    assert resp.status_code == 413
    assert "“third.bin” is larger than the limit" in resp.get_data(as_text=True)
    # The two files stored before the third was refused are removed again.
    assert attachment_rows(app) == [] and stored(storage) == {}


def test_more_files_than_allowed_refuses_the_whole_request(app, user_client, user, make_task,
                                                           storage):
    task_id = make_task(user)
    limit = AttachmentLimits.from_config(app.config).max_files
    files = [(f"f{n}.txt", b"small\n", "text/plain") for n in range(limit + 1)]

    resp = upload(user_client, task_id, files)

    assert resp.status_code == 422
    assert f"Send at most {limit} files at a time ({limit + 1} were sent)" in resp.get_data(
        as_text=True)
    assert attachment_rows(app) == [] and stored(storage) == {}
    assert upload(user_client, task_id, files[:limit]).status_code == 303


def test_upload_past_the_quota_is_refused_clearly(app, user_client, user, make_task, storage,
                                                  monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 10_000)
    task_id = make_task(user)
    assert upload(user_client, task_id, [("a.bin", b"a" * 6_000, "text/plain")]).status_code \
        == 303
    [kept] = attachment_rows(app)

    resp = upload(user_client, task_id, [("b.bin", b"b" * 3_000, "text/plain"),
                                         ("c.bin", b"c" * 3_000, "text/plain")])

    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "past your storage quota of 9.8 KiB (5.9 KiB used)" in html
    assert [row.id for row in attachment_rows(app)] == [kept.id]
    assert set(stored(storage)) == {kept.storage_key}


def test_deleting_files_gives_the_quota_back(app, user_client, user, make_task, storage,
                                             monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 10_000)
    task_id = make_task(user)
    upload(user_client, task_id, [("a.bin", b"a" * 8_000, "text/plain")])
    [row] = attachment_rows(app)
    assert upload(user_client, task_id, [("b.bin", b"b" * 8_000, "text/plain")]).status_code \
        == 413

    user_client.form_post(f"/tasks/{task_id}/attachments/{row.id}/delete")

    assert upload(user_client, task_id, [("b.bin", b"b" * 8_000, "text/plain")]).status_code \
        == 303


def test_the_quota_counts_what_each_user_uploaded(app, client, user, admin, make_task, storage,
                                                  monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 10_000)
    task_id = make_task(user)
    login(client, admin)
    client.logged_in = True
    # The admin's upload to alice's task counts against the admin's quota, not alice's.
    assert upload(client, task_id, [("by-admin.bin", b"a" * 8_000, "text/plain")]) \
        .status_code == 303
    alice = Client(app)  # a second browser
    alice.logged_in = login(alice, user).status_code == 303

    assert upload(alice, task_id, [("by-alice.bin", b"b" * 8_000, "text/plain")]) \
        .status_code == 303
    assert upload(client, task_id, [("again.bin", b"c" * 8_000, "text/plain")]) \
        .status_code == 413


def _prepared_client(app, user) -> tuple[Client, str]:
    browser = Client(app)
    assert login(browser, user).status_code == 303
    token = CSRF_META.search(browser.get("/tasks").get_data(as_text=True)).group(1)
    return browser, token


def test_quota_holds_under_concurrent_uploads(app, user, make_task, storage, monkeypatch):
    """Six uploads of 60 KB each, released together against a 200 KB quota: three fit."""
    monkeypatch.setitem(app.config, "ATTACHMENT_QUOTA_BYTES", 200_000)
    task_id = make_task(user)
    browsers = [_prepared_client(app, user) for _ in range(6)]
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def send(browser: Client, token: str, n: int) -> None:
        data = {"csrf_token": token,
                "file": [(io.BytesIO(bytes([65 + n]) * 60_000), f"race-{n}.bin", "text/plain")]}
        barrier.wait()
        resp = browser.post(f"/tasks/{task_id}/attachments", data=data,
                            content_type="multipart/form-data")
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=send, args=(browser, token, n))
               for n, (browser, token) in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    rows = attachment_rows(app)
    assert sorted(statuses) == [303, 303, 303, 413, 413, 413]
    assert sum(row.size for row in rows) == 180_000
    # The refused uploads removed what they had stored.
    assert set(stored(storage)) == {row.storage_key for row in rows}


# --- The upload route's own body limit ----------------------------------------------------

@pytest.fixture
def limited_app(make_app, database_url):
    """An app with a 1 MB body limit everywhere (as issue #11 sets) and 2 files of 2 MB per
    upload."""
    limited = make_app(SQLALCHEMY_DATABASE_URI=database_url, MAX_CONTENT_LENGTH=1_000_000,
                       ATTACHMENT_MAX_BYTES=2_000_000, ATTACHMENT_MAX_FILES=2)
    limited.test_client_class = Client
    return limited


def test_upload_route_accepts_more_than_the_app_wide_body_limit(limited_app, user, make_task):
    task_id = make_task(user)
    browser = limited_app.test_client()
    assert login(browser, user).status_code == 303
    files = {"file": [(io.BytesIO(b"x" * 1_500_000), "big.txt", "text/plain"),
                      (io.BytesIO(b"y" * 1_500_000), "big2.txt", "text/plain")]}

    resp = browser.post(f"/tasks/{task_id}/attachments", **multipart_body(files))
    other_route = browser.post("/tasks", **multipart_body({"title": "t",
                                                           "description": "d" * 1_500_000}))

    assert resp.status_code == 303
    assert other_route.status_code == 413
    with limited_app.app_context():
        assert AttachmentLimits.current().request_body_limit() == (
            2 * 2_000_000 + 3 * 64 * 1024)


def test_upload_body_over_the_route_limit_is_413_before_anything_is_stored(limited_app, user,
                                                                          make_task):
    task_id = make_task(user)
    browser = limited_app.test_client()
    assert login(browser, user).status_code == 303

    resp = browser.post(f"/tasks/{task_id}/attachments", **multipart_body({
        "file": [(io.BytesIO(b"x" * 4_500_000), "huge.txt", "text/plain")]}))

    assert resp.status_code == 413
    assert attachment_rows(limited_app) == []
    with limited_app.app_context():
        assert list(get_storage().entries()) == []


def test_anonymous_upload_gets_only_the_app_wide_body_limit(limited_app, user, make_task):
    task_id = make_task(user)
    browser = limited_app.test_client()

    small = browser.post(f"/tasks/{task_id}/attachments", **multipart_body({
        "file": [(io.BytesIO(b"x" * 1000), "small.txt", "text/plain")]}))
    large = browser.post(f"/tasks/{task_id}/attachments", **multipart_body({
        "file": [(io.BytesIO(b"x" * 1_500_000), "big.txt", "text/plain")]}))

    assert small.status_code == 302 and "/auth/login" in small.headers["Location"]
    assert large.status_code == 413
    assert "exceeds the capacity limit" in large.get_data(as_text=True)
