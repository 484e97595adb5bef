"""When the storage fails (S3 unreachable, the network cut in the middle of an upload, the disk
refusing to grow): a clear error, the task intact, no row without its object and no object
reported as saved."""

from __future__ import annotations

import io
import resource

import pytest
import sqlalchemy as sa

from tests.attachments.conftest import (
    attachment_rows,
    fetch,
    new_bucket,
    s3_settings,
    stored,
    upload,
    use_storage,
)
from tests.servers import CuttingProxy, free_port
from webapp.extensions import db
from webapp.models import Task, User
from webapp.services import attachments as attachment_service
from webapp.services.attachments import IncomingFile
from webapp.services.errors import NotFound, StorageUnavailable
from webapp.services.storage import EXTENSION_KEY, S3Storage

UNAVAILABLE = "File storage is unavailable right now. Nothing was saved"


def task_snapshot(app, task_id: int) -> tuple:
    with app.app_context():
        task = db.session.get(Task, task_id)
        snapshot = (task.title, task.description, task.status, task.version, task.updated_at)
        db.session.remove()
    return snapshot


def test_unreachable_s3_gives_a_clear_503_and_changes_nothing(app, user_client, user,
                                                              make_task, unreachable_s3):
    task_id = make_task(user, "Intact", description="Keep me")
    before = task_snapshot(app, task_id)

    plain = upload(user_client, task_id, [("a.txt", b"hello\n", "text/plain")])
    htmx = upload(user_client, task_id, [("a.txt", b"hello\n", "text/plain")], htmx=True)

    assert plain.status_code == 503 and plain.headers["Retry-After"] == "5"
    assert UNAVAILABLE in plain.get_data(as_text=True)
    assert htmx.status_code == 503 and htmx.headers["HX-Retarget"] == "#upload-status"
    assert UNAVAILABLE in htmx.get_data(as_text=True)
    assert attachment_rows(app) == []
    assert task_snapshot(app, task_id) == before
    assert user_client.get(f"/tasks/{task_id}").status_code == 200


def test_network_cut_in_the_middle_of_an_upload_leaves_nothing_behind(app, user_client, user,
                                                                       make_task, s3_server):
    bucket = new_bucket(s3_server)
    direct = S3Storage(s3_settings(s3_server, bucket))
    proxy = CuttingProxy(int(s3_server.rsplit(":", 1)[1]), cut_after=150_000)
    previous = use_storage(app, S3Storage(s3_settings(proxy.url, bucket, max_attempts=2)))
    try:
        task_id = make_task(user, "Intact")
        before = task_snapshot(app, task_id)

        # The first file goes through; the second is cut off on its way (and on its retry).
        resp = upload(user_client, task_id, [("first.txt", b"1" * 20_000, "text/plain"),
                                             ("second.bin", b"2" * 400_000, "text/plain"),
                                             ("third.txt", b"3" * 20_000, "text/plain")])
    finally:
        app.extensions[EXTENSION_KEY] = previous
        proxy.close()

    assert proxy.cuts >= 1
    assert resp.status_code == 503 and UNAVAILABLE in resp.get_data(as_text=True)
    assert attachment_rows(app) == []
    with app.app_context():
        assert stored(direct) == {}  # the first file, already stored, was removed again
    assert task_snapshot(app, task_id) == before


def test_disk_refusing_to_grow_mid_upload_leaves_nothing_behind(app, user, make_task,
                                                                local_storage):
    task_id = make_task(user, "Intact")
    before = task_snapshot(app, task_id)
    files = [IncomingFile("small.txt", io.BytesIO(b"s" * 10_000)),
             IncomingFile("large.bin", io.BytesIO(b"L" * 3_000_000)),
             IncomingFile("never.txt", io.BytesIO(b"n" * 10_000))]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    with app.app_context():
        actor = db.session.get(User, user.id)
        # The process may not write any file past 1 MB: the large file's write fails with
        # EFBIG as on a full disk (Python ignores SIGXFSZ).
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, hard))
        try:
            with pytest.raises(StorageUnavailable):
                attachment_service.upload_attachments(actor, task_id, files)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        db.session.remove()

    assert attachment_rows(app) == []
    assert list(local_storage.root.rglob("*.*")) == []  # no partial file either
    assert [path for path in local_storage.root.rglob("*") if path.is_file()] == []
    assert task_snapshot(app, task_id) == before


class DeletesTheTaskAtTheEnd(io.BytesIO):
    """An upload stream whose last read coincides with someone deleting the task."""

    def __init__(self, data: bytes, app, task_id: int):
        super().__init__(data)
        self.app, self.task_id, self.done = app, task_id, False

    def read(self, size=-1):
        data = super().read(size)
        if not data and not self.done:
            self.done = True
            with db.engine.begin() as conn:
                conn.execute(sa.delete(Task.__table__).where(Task.id == self.task_id))
        return data


def test_task_deleted_during_an_upload_keeps_no_file(app, user, make_task, storage):
    task_id = make_task(user, "Doomed")
    with app.app_context():
        actor = db.session.get(User, user.id)
        with pytest.raises(NotFound):
            attachment_service.upload_attachments(actor, task_id, [
                IncomingFile("late.txt", DeletesTheTaskAtTheEnd(b"late\n", app, task_id))])
        db.session.remove()
        assert stored(storage) == {}
    assert attachment_rows(app) == []


def test_download_while_the_store_is_down_is_503_not_500(app, user_client, user, make_task,
                                                         local_storage, unreachable_s3):
    task_id = make_task(user)
    use_storage(app, local_storage)
    upload(user_client, task_id, [("a.txt", b"hello\n", "text/plain")])
    [row] = attachment_rows(app)
    use_storage(app, unreachable_s3)

    resp = fetch(user_client, f"/tasks/{task_id}/attachments/{row.id}")

    assert resp.status_code == 503
    assert "File storage is unavailable right now" in resp.get_data(as_text=True)


def test_delete_while_the_store_is_down_removes_the_row_and_gc_the_object_later(
        app, user_client, user, make_task, s3_server):
    bucket = new_bucket(s3_server)
    working = S3Storage(s3_settings(s3_server, bucket))
    previous = use_storage(app, working)
    try:
        task_id = make_task(user)
        upload(user_client, task_id, [("a.txt", b"hello\n", "text/plain")])
        [row] = attachment_rows(app)
        use_storage(app, S3Storage(s3_settings(f"http://127.0.0.1:{free_port()}", bucket,
                                               max_attempts=1, connect_timeout=1)))

        resp = user_client.form_post(f"/tasks/{task_id}/attachments/{row.id}/delete")

        assert resp.status_code == 303
        assert attachment_rows(app) == []
        use_storage(app, working)
        with app.app_context():
            assert set(stored(working)) == {row.storage_key}  # left for gc, never a lost row
        result = app.test_cli_runner().invoke(args=["attachments", "gc", "--min-age", "0"])
        assert result.exit_code == 0, result.output
        assert f"Removed {row.storage_key}" in result.output
        with app.app_context():
            assert stored(working) == {}
    finally:
        app.extensions[EXTENSION_KEY] = previous
