"""Upload, list, download and delete a task's files through the pages, without JavaScript and
with htmx, on both storages."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.attachments.conftest import attachment_rows, fetch, image_bytes, stored, upload
from tests.conftest import HTMX

TEXT = b"Meeting notes\nsecond line\n"


def test_owner_uploads_a_file_without_javascript_and_sees_it_listed(user_client, user, make_task,
                                                                   storage, app):
    task_id = make_task(user, "With a file")

    resp = upload(user_client, task_id, [("notes.txt", TEXT, "text/plain")])

    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}#attachments"
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    files = page.split('id="attachment-list"')[1].split("</ul>")[0]
    assert "notes.txt" in files and "26 bytes" in files and "text/plain" in files
    assert "Alice Example" in files and '<span class="zone">UTC</span></time>' in files
    [row] = attachment_rows(app, task_id)
    assert (row.filename, row.size, row.content_type) == ("notes.txt", 26, "text/plain")
    assert stored(storage) == {row.storage_key: TEXT}


def test_page_has_a_labelled_multiple_file_input_and_a_progress_bar(user_client, user,
                                                                    make_task, storage):
    task_id = make_task(user)

    html = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    assert re.search(r'<label for="attachment-files">Add files</label>', html)
    assert re.search(r'<input type="file" id="attachment-files" name="file" multiple', html)
    assert 'enctype="multipart/form-data"' in html
    assert 'hx-encoding="multipart/form-data"' in html
    assert '<progress id="upload-progress"' in html


def test_several_files_in_one_request_are_all_attached(user_client, user, make_task, storage,
                                                      app):
    task_id = make_task(user)
    files = [(f"part-{n}.txt", f"part {n}\n".encode(), "text/plain") for n in range(3)]

    resp = upload(user_client, task_id, files)

    assert resp.status_code == 303
    assert [row.filename for row in attachment_rows(app, task_id)] == [
        "part-0.txt", "part-1.txt", "part-2.txt"]
    assert len(stored(storage)) == 3


def test_htmx_upload_answers_the_list_fragment_and_a_flash(user_client, user, make_task,
                                                           storage):
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("a.txt", b"aaa", "text/plain"),
                                         ("b.txt", b"bbb", "text/plain")], htmx=True)

    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<div id="attachment-list">')
    assert "a.txt" in html and "b.txt" in html
    assert 'id="flash"' in html and "Attached “a.txt”, “b.txt”." in html
    assert 'id="upload-status"' in html and 'hx-swap-oob="true"' in html


def test_list_fragment_is_served_to_htmx_and_a_page_otherwise(user_client, user, make_task,
                                                              storage):
    task_id = make_task(user, "Listed")
    upload(user_client, task_id, [("a.txt", b"aaa", "text/plain")])

    fragment = user_client.get(f"/tasks/{task_id}/attachments", headers=HTMX)
    page = user_client.get(f"/tasks/{task_id}/attachments")

    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "a.txt" in fragment.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_download_sends_the_bytes_with_safe_headers(user_client, user, make_task, storage, app):
    task_id = make_task(user)
    upload(user_client, task_id, [("Résumé 2026.txt", TEXT, "text/plain")])
    [row] = attachment_rows(app, task_id)

    resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}")

    assert resp.status_code == 200
    assert resp.data == TEXT
    headers = resp.headers
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Length"] == str(len(TEXT))
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"Resume 2026.txt\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.txt"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox")
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"] == f'"{row.sha256}"'
    assert "private" in headers["Cache-Control"]


def test_range_request_gets_part_of_the_file(user_client, user, make_task, storage, app):
    task_id = make_task(user)
    content = bytes(range(256)) * 40  # 10,240 bytes
    upload(user_client, task_id, [("data.bin", content, "application/octet-stream")])
    [row] = attachment_rows(app, task_id)
    url = f"/tasks/{task_id}/attachments/{row.id}"

    middle = fetch(user_client, url, headers={"Range": "bytes=1000-1999"})
    tail = fetch(user_client, url, headers={"Range": "bytes=-10"})
    beyond = fetch(user_client, url, headers={"Range": "bytes=20000-"})

    assert middle.status_code == 206
    assert middle.data == content[1000:2000]
    assert middle.headers["Content-Range"] == "bytes 1000-1999/10240"
    assert middle.headers["Content-Length"] == "1000"
    assert tail.status_code == 206 and tail.data == content[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */10240"


def test_etag_answers_not_modified_and_a_stale_if_range_gets_the_whole_file(
        user_client, user, make_task, storage, app):
    task_id = make_task(user)
    upload(user_client, task_id, [("a.txt", TEXT, "text/plain")])
    [row] = attachment_rows(app, task_id)
    url = f"/tasks/{task_id}/attachments/{row.id}"

    same = fetch(user_client, url, headers={"If-None-Match": f'"{row.sha256}"'})
    stale_range = fetch(user_client, url, headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    fresh_range = fetch(user_client, url, headers={"Range": "bytes=0-3",
                                                "If-Range": f'"{row.sha256}"'})

    assert same.status_code == 304 and same.data == b""
    assert stale_range.status_code == 200 and stale_range.data == TEXT
    assert fresh_range.status_code == 206 and fresh_range.data == TEXT[:4]


@pytest.mark.parametrize("fmt,mime", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                      ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_raster_images_get_a_server_made_thumbnail(user_client, user, make_task, storage, app,
                                                   fmt, mime):
    task_id = make_task(user)
    upload(user_client, task_id, [(f"photo.{fmt.lower()}", image_bytes(fmt, (1200, 900)),
                                   "application/octet-stream")])
    [row] = attachment_rows(app, task_id)

    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}/thumbnail")

    assert row.content_type == mime
    assert f'src="/tasks/{task_id}/attachments/{row.id}/thumbnail"' in page
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "image/webp"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in resp.headers
    with Image.open(io.BytesIO(resp.data)) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert max(thumbnail.size) == 400 and thumbnail.size == (400, 300)
    assert len(stored(storage)) == 2  # the file and its preview


def test_small_images_keep_their_size_in_the_thumbnail(user_client, user, make_task, storage,
                                                       app):
    task_id = make_task(user)
    upload(user_client, task_id, [("icon.png", image_bytes("PNG", (32, 20)), "image/png")])
    [row] = attachment_rows(app, task_id)

    resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}/thumbnail")

    with Image.open(io.BytesIO(resp.data)) as thumbnail:
        assert thumbnail.size == (32, 20)


def test_other_files_have_no_preview(user_client, user, make_task, storage, app):
    task_id = make_task(user)
    upload(user_client, task_id, [("notes.txt", TEXT, "image/png")])
    [row] = attachment_rows(app, task_id)

    resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}/thumbnail")
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    assert row.thumbnail_key is None
    assert resp.status_code == 404
    assert "/thumbnail" not in page


def test_empty_file_is_a_valid_zero_byte_attachment(user_client, user, make_task, storage, app):
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("empty.log", b"", "text/plain")])

    assert resp.status_code == 303
    [row] = attachment_rows(app, task_id)
    assert row.size == 0 and row.filename == "empty.log"
    download = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}")
    assert download.status_code == 200 and download.data == b""
    assert download.headers["Content-Length"] == "0"
    assert stored(storage) == {row.storage_key: b""}


def test_no_file_chosen_is_refused_with_the_form_shown_again(user_client, user, make_task,
                                                             storage, app):
    task_id = make_task(user)

    # What a browser sends for an empty file input: a part with no name and no bytes.
    resp = upload(user_client, task_id, [("", b"", "application/octet-stream")])

    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Choose at least one file." in html and "<html" in html
    assert attachment_rows(app) == [] and stored(storage) == {}


def test_htmx_refusal_names_where_the_message_goes(user_client, user, make_task, storage):
    task_id = make_task(user)

    resp = upload(user_client, task_id, [("", b"", "application/octet-stream")], htmx=True)

    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#upload-status"
    assert "Choose at least one file." in resp.get_data(as_text=True)


def test_owner_deletes_a_file_without_javascript(user_client, user, make_task, storage, app):
    task_id = make_task(user)
    upload(user_client, task_id, [("photo.png", image_bytes(), "image/png"),
                                  ("keep.txt", b"keep", "text/plain")])
    photo, keep = attachment_rows(app, task_id)

    resp = user_client.form_post(f"/tasks/{task_id}/attachments/{photo.id}/delete")

    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}#attachments"
    assert [row.id for row in attachment_rows(app, task_id)] == [keep.id]
    assert set(stored(storage)) == {keep.storage_key}  # the file and its preview are gone
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Deleted “photo.png”." in page and "photo.png</bdi>" not in page
    assert fetch(user_client, f"/tasks/{task_id}/attachments/{photo.id}").status_code == 404


def test_htmx_delete_answers_the_list_without_the_file(user_client, user, make_task, storage,
                                                       app):
    task_id = make_task(user)
    upload(user_client, task_id, [("gone.txt", b"x", "text/plain")])
    [row] = attachment_rows(app, task_id)

    resp = user_client.form_post(f"/tasks/{task_id}/attachments/{row.id}/delete", htmx=True)

    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.lstrip().startswith('<div id="attachment-list">')
    assert "No files yet." in html and "Deleted “gone.txt”." in html
    assert stored(storage) == {}


def test_attachment_of_another_task_is_not_found_under_this_one(user_client, user, make_task,
                                                                storage, app):
    first, second = make_task(user, "First"), make_task(user, "Second")
    upload(user_client, first, [("a.txt", b"a", "text/plain")])
    [row] = attachment_rows(app, first)

    assert fetch(user_client, f"/tasks/{second}/attachments/{row.id}").status_code == 404
    assert user_client.form_post(
        f"/tasks/{second}/attachments/{row.id}/delete").status_code == 404
    assert len(attachment_rows(app)) == 1


def test_upload_and_delete_are_audited(user_client, user, make_task, storage, app):
    from webapp.models import AuditEvent

    task_id = make_task(user)
    upload(user_client, task_id, [("a.txt", b"hello\n", "text/plain")])
    [row] = attachment_rows(app, task_id)
    user_client.form_post(f"/tasks/{task_id}/attachments/{row.id}/delete")

    with app.app_context():
        import sqlalchemy as sa

        from webapp.extensions import db
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.target_id, AuditEvent.changes)
            .where(AuditEvent.action.like("attachment.%")).order_by(AuditEvent.id)
        ).all()
    assert [(action, target) for action, target, _ in events] == [
        ("attachment.create", str(row.id)), ("attachment.delete", str(row.id))]
    assert events[0][2] == {"task_id": task_id, "filename": "a.txt", "size": 6,
                            "content_type": "text/plain"}


def test_uploading_does_not_change_the_task(user_client, user, make_task, storage, app):
    from webapp.extensions import db
    from webapp.models import Task

    task_id = make_task(user)
    upload(user_client, task_id, [("a.txt", b"a", "text/plain")])

    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.version == 1  # an edit form loaded before the upload still saves
