"""`flask attachments gc` removes stored objects that no row refers to (and reports them);
a purged task takes its files with it. Both storages."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

from tests.attachments.conftest import attachment_rows, image_bytes, stored, upload
from tests.servers import free_port
from webapp.models import utcnow
from webapp.services import tasks as task_service
from webapp.services.storage import EXTENSION_KEY, LocalStorage, S3Storage, new_key


def gc(app, *args):
    return app.test_cli_runner().invoke(args=["attachments", "gc", *args])


def put(app, storage, content: bytes = b"orphan") -> str:
    key = new_key()
    with app.app_context():
        storage.save(key, io.BytesIO(content))
    return key


def test_gc_removes_unreferenced_objects_and_reports_them(app, user_client, user, make_task,
                                                          storage):
    task_id = make_task(user)
    upload(user_client, task_id, [("photo.png", image_bytes(), "image/png"),
                                  ("notes.txt", b"notes\n", "text/plain")])
    photo, notes = attachment_rows(app, task_id)
    referenced = {photo.storage_key, photo.thumbnail_key, notes.storage_key}
    orphans = {put(app, storage, b"a" * 2048), put(app, storage)}

    result = gc(app, "--min-age", "0")

    assert result.exit_code == 0, result.output
    for key in orphans:
        assert f"Removed {key} (" in result.output
    assert "Removed 2 unreferenced object(s), 2 KiB; kept 3 in use" in result.output
    with app.app_context():
        assert set(stored(storage)) == referenced
    assert fetch_ok(user_client, task_id, photo.id)


def fetch_ok(client, task_id: int, attachment_id: int) -> bool:
    resp = client.get(f"/tasks/{task_id}/attachments/{attachment_id}", buffered=True)
    return resp.status_code == 200


def test_gc_dry_run_lists_without_removing(app, storage):
    orphan = put(app, storage)

    result = gc(app, "--min-age", "0", "--dry-run")

    assert result.exit_code == 0
    assert f"Would remove {orphan}" in result.output
    with app.app_context():
        assert set(stored(storage)) == {orphan}


def test_gc_keeps_recent_objects_of_uploads_in_progress(app, local_storage):
    recent = put(app, local_storage)
    old = put(app, local_storage)
    two_hours_ago = time.time() - 2 * 3600
    os.utime(local_storage._path(old), (two_hours_ago, two_hours_ago))
    # A write that died with its process, long ago.
    partial = local_storage._path(new_key(), ".part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half")
    os.utime(partial, (two_hours_ago, two_hours_ago))

    result = gc(app)  # default: objects younger than 60 minutes are kept

    assert result.exit_code == 0, result.output
    assert f"Removed {old}" in result.output and f"Removed {partial.name}" in result.output
    assert "kept 0 in use and 1 younger than 60 min" in result.output
    with app.app_context():
        assert set(stored(local_storage)) == {recent}


def test_gc_never_touches_what_is_not_ours(app, storage, s3_server):
    if isinstance(storage, LocalStorage):
        foreign = storage.root / "README.txt"
        storage.root.mkdir(parents=True, exist_ok=True)
        foreign.write_text("not an attachment")
    else:
        from tests.attachments.conftest import s3_client

        s3_client(s3_server).put_object(Bucket=storage.settings.bucket,
                                        Key="attachments/backup.tar", Body=b"x")

    result = gc(app, "--min-age", "0")

    assert result.exit_code == 0 and "Removed 0 unreferenced object(s)" in result.output
    if isinstance(storage, LocalStorage):
        assert foreign.exists()
    else:
        from tests.attachments.conftest import s3_client

        assert s3_client(s3_server).head_object(Bucket=storage.settings.bucket,
                                                Key="attachments/backup.tar")


def test_gc_says_clearly_when_the_store_is_unreachable(app):
    from tests.attachments.conftest import s3_settings, use_storage

    previous = use_storage(app, S3Storage(s3_settings(
        f"http://127.0.0.1:{free_port()}", "taskdeck-nowhere", max_attempts=1)))
    try:
        result = gc(app)
    finally:
        app.extensions[EXTENSION_KEY] = previous

    assert result.exit_code != 0
    assert "Could not list the attachment storage" in result.output


def test_a_deleted_task_keeps_its_files_for_undo_and_the_purge_removes_them(
        app, user_client, user, make_task, storage):
    doomed, kept = make_task(user, "Doomed"), make_task(user, "Kept")
    upload(user_client, doomed, [("photo.png", image_bytes(), "image/png"),
                                 ("notes.txt", b"notes\n", "text/plain")])
    upload(user_client, kept, [("keep.txt", b"keep\n", "text/plain")])
    doomed_rows = attachment_rows(app, doomed)
    [keep] = attachment_rows(app, kept)
    with app.app_context():
        everything = set(stored(storage))

    resp = user_client.form_post(f"/tasks/{doomed}/delete")

    assert resp.status_code == 303
    # In the bin: Undo must be able to bring the files back, so nothing is removed yet.
    assert len(attachment_rows(app)) == 3
    with app.app_context():
        assert set(stored(storage)) == everything
    assert user_client.get(f"/tasks/{doomed}/attachments/{doomed_rows[0].id}").status_code == 404

    with app.app_context():
        later = utcnow() + task_service.DELETED_RETENTION + timedelta(minutes=1)
        assert task_service.purge_deleted_tasks(now=later) == 1

    assert [row.id for row in attachment_rows(app)] == [keep.id]
    with app.app_context():
        assert set(stored(storage)) == {keep.storage_key}


def test_the_purge_spares_a_task_restored_meanwhile(app, user_client, user, make_task,
                                                    storage):
    task_id = make_task(user, "Back again")
    upload(user_client, task_id, [("notes.txt", b"notes\n", "text/plain")])
    user_client.form_post(f"/tasks/{task_id}/delete")
    assert user_client.form_post(f"/tasks/{task_id}/restore").status_code == 303

    with app.app_context():
        later = utcnow() + task_service.DELETED_RETENTION + timedelta(minutes=1)
        assert task_service.purge_deleted_tasks(now=later) == 0
        assert len(stored(storage)) == 1
    [row] = attachment_rows(app, task_id)
    assert fetch_ok(user_client, task_id, row.id)
