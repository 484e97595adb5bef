"""A task's files at /tasks/<id>/attachments: upload, list, download, preview, delete.

Plain multipart forms work without JavaScript (303 to the task's page, or the page again with
the error); htmx swaps the list of files in place. Access is the task's: another user's
file is 404, anonymous visitors are sent to log in.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from ..htmx import redirect_after_post, render_page_or_fragment, wants_fragment
from ..services import attachments as attachment_service
from ..services import tasks as task_service
from ..services.attachments import AttachmentLimits
from ..services.errors import Invalid, QuotaExceeded, StorageUnavailable, TooLarge
from ..tasks.views import render_task_page, with_flash
from .http import allow_upload_body, incoming_files, send_download

bp = Blueprint("attachments", __name__, url_prefix="/tasks/<int:task_id>/attachments")

# What a refused upload answers, by the service's reason.
UPLOAD_ERROR_STATUS = {Invalid: 422, TooLarge: 413, QuotaExceeded: 413, StorageUnavailable: 503}


@bp.url_value_preprocessor
def raise_upload_body_limit(endpoint: str | None, values: dict | None) -> None:
    """Uploads may send more than the app-wide body limit; only logged-in users get that."""
    if endpoint == "attachments.upload" and request.method == "POST" \
            and current_user.is_authenticated:
        allow_upload_body()


@bp.before_request
@login_required
def require_login():
    """Every attachment route needs a logged-in user."""


def section_context(task, upload_error: str | None = None) -> dict:
    return {"task": task, "attachments": attachment_service.attachments_of_task(task),
            "upload_error": upload_error}


@bp.app_template_global()
def attachment_limits() -> AttachmentLimits:
    """The limits, for the upload form's hint."""
    return AttachmentLimits.current()


@bp.get("")
def index(task_id: int):
    """The task's files: the list fragment for htmx, a page of its own otherwise."""
    task = task_service.get_task_for(current_user, task_id)
    return render_page_or_fragment("attachments/index.html", "attachments/_list.html",
                                   **section_context(task))


@bp.post("")
def upload(task_id: int):
    """Attach one or several files (the `file` parts of a multipart form)."""
    try:
        created = attachment_service.upload_attachments(current_user, task_id,
                                                        incoming_files("file"))
    except tuple(UPLOAD_ERROR_STATUS) as error:
        return upload_refused(task_id, error)
    names = ", ".join(f"“{attachment.filename}”" for attachment in created)
    message = f"Attached {names}."
    task = task_service.get_task_for(current_user, task_id)
    if wants_fragment():
        html = render_template("attachments/_list.html", **section_context(task))
        html += render_template("attachments/_upload_status.html", upload_error=None, oob=True)
        return with_flash(make_response(html, 201), message)
    flash(message, "success")
    return redirect_after_post(url_for("tasks.detail", task_id=task.id) + "#attachments")


def upload_refused(task_id: int, error: Exception):
    """Show why an upload was refused, in the upload form, with the matching status."""
    status = UPLOAD_ERROR_STATUS[type(error)]
    if isinstance(error, Invalid):
        message = " ".join(" ".join(messages) for messages in error.field_errors.values())
    else:
        message = error.message
    if wants_fragment():
        resp = make_response(render_template("attachments/_upload_status.html",
                                             upload_error=message), status)
        # static/js/app.js swaps an error answer that names its place (htmx 2 itself
        # leaves 4xx/5xx answers unswapped).
        resp.headers["HX-Retarget"] = "#upload-status"
        resp.headers["HX-Reswap"] = "outerHTML"
    else:
        task = task_service.get_task_for(current_user, task_id)
        resp = render_task_page(task, status, upload_error=message)
    if status == 503:
        resp.headers["Retry-After"] = "5"
    return resp


@bp.get("/<int:attachment_id>")
def download(task_id: int, attachment_id: int):
    """The file, as a download (Range and conditional requests supported)."""
    return send_download(attachment_service.open_attachment(current_user, task_id,
                                                            attachment_id))


@bp.get("/<int:attachment_id>/thumbnail")
def thumbnail(task_id: int, attachment_id: int):
    """The preview image the server made of a raster image (404 for other files)."""
    return send_download(attachment_service.open_thumbnail(current_user, task_id,
                                                           attachment_id))


@bp.post("/<int:attachment_id>/delete")
def delete(task_id: int, attachment_id: int):
    """Remove a file from the task."""
    attachment = attachment_service.delete_attachment(current_user, task_id, attachment_id)
    message = f"Deleted “{attachment.filename}”."
    if wants_fragment():
        task = task_service.get_task_for(current_user, task_id)
        resp = make_response(render_template("attachments/_list.html",
                                             **section_context(task)))
        return with_flash(resp, message)
    flash(message, "success")
    return redirect_after_post(url_for("tasks.detail", task_id=task_id) + "#attachments")
