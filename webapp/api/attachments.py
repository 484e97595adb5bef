"""A task's files in the JSON API: /api/tasks/<id>/attachments.

The service (services.attachments) owns every rule and limit; the HTTP around it (the file
parts, the download's headers, Range and ETag, the raised body limit) is the pages' own, from
webapp/attachments/http.py. This module only declares the endpoints and shapes the answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify, request, url_for
from pydantic import ConfigDict, Field, WithJsonSchema

from ..attachments.http import allow_upload_body, incoming_files, send_download
from ..errors import error_response
from ..models import Attachment, User
from ..request_guard import body_limit
from ..services import attachments as attachment_service
from .auth import api_caller
from .schemas import Count, Timestamp
from .serializers import timestamp
from .spec import WRITE, ApiModel, ErrorBody, Response, endpoint, scope_refusal
from .views import COMMON, bp

TAGS = ["attachments"]
UPLOAD_ENDPOINT = "api.upload_attachments"


# --- Shapes -----------------------------------------------------------------------------------

class Person(ApiModel):
    """Who wrote or uploaded something: enough to show, nothing private (no email)."""

    id: int = Field(ge=1)
    username: str
    name: str = Field(description="Display name.")


class AttachmentObject(ApiModel):
    """A file attached to a task. `contentType` is detected from the content when uploaded
    (never taken from the name or the client's claim); the download is served as
    application/octet-stream for anything a browser could run."""

    id: int = Field(ge=1)
    taskId: int = Field(ge=1)
    filename: str = Field(description="The uploaded name, neutralised (no path, no control "
                          "characters); offered as the download name.")
    size: Count = Field(description="Bytes.")
    contentType: str
    sha256: str = Field(description="The content's SHA-256, hex; also the download's ETag.")
    createdAt: Timestamp
    uploader: Person | None = Field(description="null once the account is removed.")
    url: str = Field(description="Where to download the file (this API).")


class AttachmentList(ApiModel):
    attachments: list[AttachmentObject]
    count: Count


class UploadForm(ApiModel):
    """A multipart/form-data body of one or more `file` parts. The limits (per file, files
    per request, the uploader's quota) are the pages' and are checked while the files are
    read: a refusal stores nothing."""

    # Required in the document; a body without files is refused by the service, in the
    # page's words ("Choose at least one file.").
    model_config = ConfigDict(json_schema_extra={"required": ["file"]})

    # Checked by the service (its messages are the page's), so declared here for the document
    # only: spectree hands a single part over as a file, several as a list.
    file: Annotated[Any, WithJsonSchema({
        "type": "array", "items": {"type": "string", "format": "binary"},
        "description": "The files; repeat the part for several.",
    })] = Field(None, json_schema_extra=lambda schema: schema.pop("default", None))


def person_json(user: User | None) -> dict | None:
    """A person object (see Person), or None for a removed account."""
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "name": user.display_name}


def attachment_json(attachment: Attachment) -> dict:
    """An attachment object (see AttachmentObject)."""
    return {
        "id": attachment.id,
        "taskId": attachment.task_id,
        "filename": attachment.filename,
        "size": attachment.size,
        "contentType": attachment.content_type,
        "sha256": attachment.sha256,
        "createdAt": timestamp(attachment.created_at),
        "uploader": person_json(attachment.uploader),
        "url": url_for("api.attachment_file", task_id=attachment.task_id,
                       attachment_id=attachment.id),
    }


def attachment_list_json(attachments: list[Attachment]) -> dict:
    """The list answer of GET and POST: the objects and their number."""
    return {"attachments": [attachment_json(item) for item in attachments],
            "count": len(attachments)}


# --- The upload's body limit ------------------------------------------------------------------

@bp.url_value_preprocessor
def raise_upload_body_limit(endpoint_name: str | None, values: dict | None) -> None:
    """Uploads may send more than the app-wide body limit, but only callers who may write
    get that: url_value_preprocessors run before the request guard reads the body."""
    if endpoint_name == UPLOAD_ENDPOINT and request.method == "POST" \
            and api_caller().user is not None and scope_refusal(WRITE) is None:
        allow_upload_body()


# --- Endpoints --------------------------------------------------------------------------------

READ_ERRORS = {"HTTP_404": ErrorBody, **COMMON}
# Any write may also meet the blueprint's body checks (413 over the limit, 415 not JSON).
WRITE_ERRORS = {"HTTP_403": ErrorBody, "HTTP_413": ErrorBody, "HTTP_415": ErrorBody,
                **READ_ERRORS}


@bp.get("/tasks/<int:task_id>/attachments")
@endpoint(resp=Response(HTTP_200=AttachmentList, **READ_ERRORS), tags=TAGS,
          operation_id="list_attachments")
def attachments(task_id: int):
    """List attachments

    The files of a task, oldest first (another user's task: 404).
    """
    return jsonify(attachment_list_json(
        attachment_service.list_attachments(api_caller().user, task_id)))


@bp.post("/tasks/<int:task_id>/attachments")
@endpoint(form=UploadForm, scope=WRITE, tags=TAGS, operation_id="upload_attachments",
          resp=Response(HTTP_201=AttachmentList, HTTP_400=ErrorBody, HTTP_422=ErrorBody,
                        HTTP_503=ErrorBody, **WRITE_ERRORS))
@body_limit(files=True)  # the larger limit itself is set by raise_upload_body_limit
def upload_attachments(task_id: int):
    """Upload attachments

    Attach one or several files: a multipart/form-data body with one `file` part each. All
    are stored or none: 413 `too_large` for a file over the size limit (`request_too_large`
    for a body over all the files' limits together), 413 `quota_exceeded` past the uploader's
    quota, 422 with no file or too many files, 400 for a multipart body that cannot be read,
    503 `storage_unavailable` when the storage fails. The type is detected from the
    content, whatever the part claims.
    """
    if request.mimetype != "multipart/form-data":
        return error_response(415, "Send the files as multipart/form-data, one `file` part "
                              "each.", "unsupported_media_type")
    created = attachment_service.upload_attachments(api_caller().user, task_id,
                                                    incoming_files("file"))
    return jsonify(attachment_list_json(created)), 201


@bp.get("/tasks/<int:task_id>/attachments/<int:attachment_id>")
@endpoint(validate=False, tags=TAGS, operation_id="download_attachment",
          resp=Response(HTTP_200=(None, "The file (Content-Disposition: attachment)."),
                        HTTP_206=(None, "The requested range of the file."),
                        HTTP_304=(None, "Not modified (If-None-Match matched the ETag)."),
                        HTTP_416=(None, "The range is outside the file."),
                        HTTP_503=ErrorBody, **READ_ERRORS))
def attachment_file(task_id: int, attachment_id: int):
    """Download an attachment

    The file itself, with the page's download headers: `Content-Disposition: attachment`
    with the original name (RFC 6266 `filename*`), `X-Content-Type-Options: nosniff`, a
    sandbox CSP, `ETag` (the SHA-256; 304 to `If-None-Match`) and `Range` (206; 416 outside
    the file). HTML, SVG and other types a browser could run come as
    application/octet-stream.
    """
    return send_download(attachment_service.open_attachment(api_caller().user, task_id,
                                                            attachment_id))


@bp.delete("/tasks/<int:task_id>/attachments/<int:attachment_id>")
@endpoint(scope=WRITE, tags=TAGS, operation_id="delete_attachment",
          resp=Response(HTTP_204=None, **WRITE_ERRORS))
def delete_attachment(task_id: int, attachment_id: int):
    """Delete an attachment

    Remove a file from a task, and its stored bytes. Again: 404.
    """
    attachment_service.delete_attachment(api_caller().user, task_id, attachment_id)
    return "", 204
