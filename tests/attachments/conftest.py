"""Attachment tests run against both storages: a folder, and a real S3 API on localhost
(moto in server mode, started once per session on a free port). Each test gets a storage of
its own (a fresh folder, or a fresh bucket)."""

from __future__ import annotations

import io
import secrets
import subprocess
import sys
import tempfile
import time

import boto3
import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from tests.servers import free_port
from webapp.extensions import db
from webapp.models import Attachment, User
from webapp.services import attachments as attachment_service
from webapp.services import comments as comment_service
from webapp.services.attachments import IncomingFile
from webapp.services.storage import EXTENSION_KEY, LocalStorage, S3Settings, S3Storage

S3_REGION = "us-east-1"
S3_CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free localhost port; its URL."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"moto server exited: {log.read().decode(errors='replace')}")
            try:
                requests.get(url + "/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def s3_client(endpoint: str):
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=S3_REGION,
                                          **S3_CREDENTIALS)


def new_bucket(endpoint: str) -> str:
    bucket = f"taskdeck-test-{secrets.token_hex(6)}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return bucket


def s3_settings(endpoint: str, bucket: str, **overrides) -> S3Settings:
    values = dict(bucket=bucket, prefix="attachments/", endpoint_url=endpoint, region=S3_REGION,
                  access_key_id=S3_CREDENTIALS["aws_access_key_id"],
                  secret_access_key=S3_CREDENTIALS["aws_secret_access_key"],
                  addressing_style="path")
    values.update(overrides)
    return S3Settings(**values)


def use_storage(app, store):
    """Make `store` the app's attachment storage; returns what to put back."""
    previous = app.extensions.get(EXTENSION_KEY)
    app.extensions[EXTENSION_KEY] = store
    return previous


@pytest.fixture(params=["local", "s3"])
def storage(request, app, tmp_path):
    """The app's attachment storage for this test: a fresh folder, or a fresh S3 bucket."""
    if request.param == "local":
        store = LocalStorage(tmp_path / "store")
    else:
        endpoint = request.getfixturevalue("s3_server")
        store = S3Storage(s3_settings(endpoint, new_bucket(endpoint)))
    previous = use_storage(app, store)
    yield store
    app.extensions[EXTENSION_KEY] = previous


@pytest.fixture
def unreachable_s3(app):
    """S3 on a port where nothing listens, tried once."""
    store = S3Storage(s3_settings(f"http://127.0.0.1:{free_port()}", "taskdeck-nowhere",
                                  max_attempts=1, connect_timeout=1))
    previous = use_storage(app, store)
    yield store
    app.extensions[EXTENSION_KEY] = previous


@pytest.fixture
def local_storage(app, tmp_path):
    """A folder storage alone, for tests about the disk itself."""
    store = LocalStorage(tmp_path / "store")
    previous = use_storage(app, store)
    yield store
    app.extensions[EXTENSION_KEY] = previous


def stored(store) -> dict[str, bytes]:
    """Everything in the store: {key: bytes}."""
    contents = {}
    for entry in store.entries():
        body = store.open(entry.key)
        try:
            contents[entry.key] = body.read()
        finally:
            body.close()
    return contents


def attachment_rows(app, task_id: int | None = None) -> list[Attachment]:
    with app.app_context():
        query = sa.select(Attachment).order_by(Attachment.id)
        if task_id is not None:
            query = query.where(Attachment.task_id == task_id)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        db.session.remove()
    return rows


def image_bytes(fmt: str = "PNG", size=(800, 600), color="teal") -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt in {"PNG", "WEBP"} else "RGB"
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def upload(client, task_id: int, files, htmx: bool = False, **kwargs):
    """Post files through the upload form: files are (name, bytes, claimed type)."""
    data = {"file": [(io.BytesIO(content), name, claimed) for name, content, claimed in files]}
    return client.form_post(f"/tasks/{task_id}/attachments", data, htmx=htmx,
                            content_type="multipart/form-data", **kwargs)


def fetch(client, url: str, **kwargs):
    """GET a file and read it whole, closing the response (and so the stored object)."""
    return client.get(url, buffered=True, **kwargs)


def multipart_body(fields: dict) -> dict:
    """Arguments for `client.post` with a multipart body built in memory. (For bodies over
    500 KB Werkzeug's test client would spool its own encoding to a temporary file that
    nothing closes.)"""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    values = MultiDict()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):  # (stream, filename, content type)
                item = FileStorage(item[0], filename=item[1], content_type=item[2])
            values.add(name, item)
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def scene(app, make_user, make_task, local_storage):
    """An owner's task with a picture and a comment of the owner's."""
    owner = make_user("owner")
    task_id = make_task(owner, "Guarded")
    with app.app_context():
        actor = db.session.get(User, owner.id)
        [picture] = attachment_service.upload_attachments(
            actor, task_id, [IncomingFile("picture.png", io.BytesIO(image_bytes()))])
        comment = comment_service.add_comment(actor, task_id, "First!")
        ids = {"task": task_id, "file": picture.id, "comment": comment.id}
        db.session.remove()
    return owner, ids
