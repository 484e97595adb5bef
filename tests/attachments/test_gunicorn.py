"""Serving files as production does: gunicorn with gunicorn.conf.py and APP_ENV=production,
its storage chosen by the environment (ATTACHMENTS_DIR, or ATTACHMENTS_S3_* against the local
S3 server). Upload, download with Range and ETag, the preview, the safety headers."""

from __future__ import annotations

import io
import re
import secrets

import pytest
import requests
from PIL import Image

from tests.attachments.conftest import S3_CREDENTIALS, S3_REGION, image_bytes, new_bucket
from tests.servers import Gunicorn

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(params=["local", "s3"])
def server(request, app, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
           "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2", "LOG_FILE": ""}
    if request.param == "local":
        env["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    else:
        endpoint = request.getfixturevalue("s3_server")
        env.update({
            "ATTACHMENTS_S3_BUCKET": new_bucket(endpoint), "ATTACHMENTS_S3_PREFIX": "prod/",
            "ATTACHMENTS_S3_ENDPOINT_URL": endpoint, "ATTACHMENTS_S3_REGION": S3_REGION,
            "ATTACHMENTS_S3_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
            "ATTACHMENTS_S3_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
        })
    instance = Gunicorn("wsgi:app", env)
    try:
        instance.wait_ready()
        yield instance
    finally:
        instance.stop()


def token(session: requests.Session, url: str) -> str:
    return CSRF_META.search(session.get(url, timeout=5).text).group(1)


def test_files_are_served_safely_under_gunicorn(server, user, make_task):
    task_id = make_task(user, "Served")
    browser = requests.Session()
    login = browser.post(server.url + "/auth/login", timeout=5, allow_redirects=False, data={
        "csrf_token": token(browser, server.url + "/auth/login"),
        "username": user.username, "password": user.password})
    assert login.status_code == 303
    page_url = f"{server.url}/tasks/{task_id}"
    content = bytes(range(256)) * 64

    uploaded = browser.post(page_url + "/attachments", timeout=10, allow_redirects=False,
                            data={"csrf_token": token(browser, page_url)},
                            files=[("file", ("data ✓.bin", io.BytesIO(content), "text/html")),
                                   ("file", ("pic.png", io.BytesIO(image_bytes()), "image/png"))])
    assert uploaded.status_code == 303, uploaded.text
    page = browser.get(page_url, timeout=5).text
    data_url, pic_url = re.findall(r'href="(/tasks/\d+/attachments/\d+)" class="attachment-name"',
                                   page)

    whole = browser.get(server.url + data_url, timeout=5)
    part = browser.get(server.url + data_url, timeout=5, headers={"Range": "bytes=100-199"})
    again = browser.get(server.url + data_url, timeout=5,
                        headers={"If-None-Match": whole.headers["ETag"]})
    preview = browser.get(server.url + pic_url + "/thumbnail", timeout=5)
    anonymous = requests.get(server.url + data_url, timeout=5, allow_redirects=False)

    assert whole.status_code == 200 and whole.content == content
    assert whole.headers["Content-Type"] == "application/octet-stream"
    assert whole.headers["Content-Disposition"] == (
        "attachment; filename=\"data .bin\"; filename*=UTF-8''data%20%E2%9C%93.bin")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Security-Policy"].startswith("sandbox")
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert part.status_code == 206 and part.content == content[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert again.status_code == 304
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/webp"
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(preview.content)) as thumbnail:
        assert max(thumbnail.size) == 400
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
