"""HTTP around the attachment service, shared by the pages and the JSON API: the request
body limit of upload routes, turning multipart parts into service input, and sending a
stored file (Range, ETag, the headers that keep a file from running in our origin)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response, request
from werkzeug.datastructures import FileStorage
from werkzeug.http import dump_options_header

from ..services.attachments import AttachmentLimits, Download, IncomingFile

# A stored file is never a page of ours: no script, no plugin, no form, opaque origin.
DOWNLOAD_CSP = "sandbox; default-src 'none'"
# RFC 5987 attr-char: what may stay unencoded in filename*.
ATTR_CHARS = "!#$&+-.^_`|~"


def allow_upload_body() -> None:
    """Raise this request's body limit to what an upload may need (ATTACHMENT_MAX_BYTES x
    ATTACHMENT_MAX_FILES + room for the multipart overhead), above the app-wide
    MAX_CONTENT_LENGTH.

    Call it from a `url_value_preprocessor`, for authenticated requests to upload routes
    only: those run before every `before_request` hook, including the ones that read the
    form (CSRF, the NUL guard), which is when the body is read and the limit applies.
    """
    request.max_content_length = AttachmentLimits.current().request_body_limit()


def incoming_files(field: str = "file") -> list[IncomingFile]:
    """The request's file parts named `field`, as the service takes them (already spooled
    to temporary files by Werkzeug when large, never held whole in memory)."""
    parts: list[FileStorage] = request.files.getlist(field)
    return [IncomingFile(filename=part.filename, stream=part.stream) for part in parts]


def ascii_fallback(name: str) -> str:
    """The plain `filename=` for clients that ignore `filename*`: ASCII letters kept, accents
    dropped, anything else `_`."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._() -]", "_", text).strip(" .")
    return text or "download"


def content_disposition(name: str) -> str:
    """`attachment` with the original name, Unicode-safe (RFC 6266 `filename*`) and an
    ASCII fallback."""
    return dump_options_header("attachment", {
        "filename": ascii_fallback(name),
        "filename*": "UTF-8''" + quote(name, safe=ATTR_CHARS),
    })


def send_download(download: Download) -> Response:
    """The response for a stored file: 200, 206 for a Range, 304 when the ETag matches.

    Downloads always carry `Content-Disposition: attachment`; previews are images made by
    the server. Both are `nosniff` and under a sandbox CSP, so nothing uploaded can run in
    Taskdeck's origin, and `private` so that no shared cache keeps them.
    """
    resp = Response(download.body, mimetype=download.content_type, direct_passthrough=True)
    resp.call_on_close(download.body.close)
    resp.content_length = download.size
    resp.set_etag(download.etag)
    resp.last_modified = download.last_modified
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if download.download_name is not None:
        resp.headers["Content-Disposition"] = content_disposition(download.download_name)
    try:
        return resp.make_conditional(request, accept_ranges=True,
                                     complete_length=download.size)
    except Exception:
        download.body.close()  # 416: the response that would have closed it is not sent
        raise
