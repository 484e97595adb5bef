"""Uploads are streamed to the storage in chunks: a file is never held whole in memory."""

from __future__ import annotations

import io
import tracemalloc

from tests.attachments.conftest import attachment_rows, stored
from webapp.extensions import db
from webapp.models import User
from webapp.services import attachments as attachment_service
from webapp.services.attachments import IncomingFile
from webapp.services.storage import CHUNK_SIZE

SIZE = 6 * 1024 * 1024


class GeneratedUpload(io.RawIOBase):
    """A 6 MiB upload produced on demand (so the test itself holds none of it), recording
    how much each read asked for."""

    def __init__(self, size: int):
        super().__init__()
        self.left = size
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.requests.append(size)
        count = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= count
        return b"z" * count


def test_an_upload_is_read_and_stored_in_chunks(app, user, make_task, storage):
    task_id = make_task(user)
    upload = GeneratedUpload(SIZE)
    with app.app_context():
        actor = db.session.get(User, user.id)
        tracemalloc.start()
        try:
            attachment_service.upload_attachments(actor, task_id, [
                IncomingFile("big.bin", upload)])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        db.session.remove()

    assert all(0 < size <= CHUNK_SIZE for size in upload.requests), set(upload.requests)
    # Well under the file's size (botocore hashes the staged file in 1 MiB blocks to sign it).
    assert peak < SIZE / 2, f"peak {peak} bytes for a {SIZE}-byte file"
    [row] = attachment_rows(app)
    assert row.size == SIZE
    with app.app_context():
        assert len(stored(storage)[row.storage_key]) == SIZE
