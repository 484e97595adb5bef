"""Task pages at /tasks: list, quick add, detail, edit, complete/reopen, delete.

Every write answers htmx with the changed fragment and plain forms with a 303 redirect.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from dataclasses import replace

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    make_response,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from ..comments.forms import CommentForm
from ..forms_util import copy_errors_to_form
from ..htmx import (
    TASKS_CHANGED_TRIGGER,
    push_url_unless_current,
    redirect_after_post,
    render_page_or_fragment,
    safe_next_url,
    wants_fragment,
)
from ..models import Task, utcnow
from ..services import attachments as attachment_service
from ..services import comments as comment_service
from ..services import tasks as task_service
from ..services.errors import AlreadySubmitted, Conflict, Invalid
from ..services.export import tasks_csv
from ..services.task_queries import (
    PER_PAGE_CHOICES,
    TaskFilters,
    paginate_tasks,
    parse_task_filters,
)
from ..services.users import assignable_users, filter_owner_choices
from .forms import TaskForm

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.before_request
@login_required
def require_login():
    """Every task page needs a logged-in user."""


@bp.after_request
def announce_task_writes(resp):
    """A successful htmx write tells the page to refresh its list (count, pager, rows that
    stopped matching the filters): the quick add and the delete change the count."""
    if (request.method == "POST" and wants_fragment() and resp.status_code in (200, 201)
            and "HX-Trigger" not in resp.headers):
        resp.headers["HX-Trigger"] = TASKS_CHANGED_TRIGGER
    return resp


# The routes a row of the task list links to, by the names the row macro uses.
ROW_LINK_ENDPOINTS = {
    "detail": "tasks.detail", "toggle": "tasks.toggle", "edit": "tasks.edit",
    "confirm_delete": "tasks.confirm_delete", "delete": "tasks.delete",
}
RowLinks = namedtuple("RowLinks", ROW_LINK_ENDPOINTS)
# An id every `<int:task_id>` route accepts, standing in for the real one in row_links.
ID_SLOT = 2**31 - 1


@bp.app_template_global()
def row_links(task_id: int) -> RowLinks:
    """The URLs of one task row, as `url_for(endpoint, task_id=task_id)` gives them.

    url_for runs once per route and request and the id is put into its answer: a page of 25
    rows needs 125 links, and building them through url_for was a fifth of the page's CPU
    (docs/BENCHMARKS.md). The URLs are identical, SCRIPT_NAME and proxies included.
    """
    patterns = g.get("row_link_patterns")
    if patterns is None:
        slot = str(ID_SLOT)
        patterns = g.row_link_patterns = [
            url_for(endpoint, task_id=ID_SLOT).rpartition(slot)[::2]
            for endpoint in ROW_LINK_ENDPOINTS.values()
        ]
    task_id = int(task_id)
    return RowLinks(*[f"{head}{task_id}{tail}" for head, tail in patterns])


def task_form(task: Task | None = None, **kwargs) -> TaskForm:
    """A TaskForm for the current user; admins get the owner choice."""
    owners = assignable_users(current_user)
    if task is not None and task.owner not in owners:
        owners = [task.owner, *owners]  # keep a deactivated owner selectable as it is
    if task is None:
        kwargs.setdefault("owner_id", current_user.id)
        kwargs.setdefault("submission_key", uuid.uuid4().hex)
    return TaskForm(obj=task, owners=owners if current_user.is_admin else None, **kwargs)


def with_flash(resp, message: str, category: str = "success"):
    """Append an out-of-band flash message to an htmx fragment response."""
    flash_html = render_template("_flash_oob.html", messages=[(category, message)])
    resp.set_data(resp.get_data(as_text=True) + flash_html)
    return resp


def next_url(default: str) -> str:
    return safe_next_url(request.form.get("next") or request.args.get("next"), default)


def list_filters() -> tuple[TaskFilters, dict[str, str]]:
    """The list's filters from the query string, and a message per ignored parameter."""
    return parse_task_filters(request.args, default_per_page=current_app.config["TASKS_PER_PAGE"])


@bp.get("")
def index():
    """The current user's tasks (every task for admins): filter bar, list and quick add.

    htmx requests from the filter bar, the sort and the pager get only the list fragment.
    """
    filters, filter_errors = list_filters()
    bound = current_app.config["TASKS_TOTAL_BOUND"]
    pagination = paginate_tasks(current_user, filters, total_bound=bound)
    if not pagination.items and pagination.page > 1 and pagination.total != 0:
        # Past the last page (an old bookmark): show the last page and say so, or the first
        # when there are more tasks than are counted (the last page is not known then).
        last = pagination.pages or 1
        filter_errors["page"] = f"Page {pagination.page} is past the end; showing page {last}."
        filters = replace(filters, page=last)
        pagination = paginate_tasks(current_user, filters, total_bound=bound)
    context = dict(
        tasks=pagination.items, pagination=pagination, filters=filters,
        filter_errors=filter_errors,
    )
    if not wants_fragment():  # the filter bar and quick add are only on the full page
        sizes = sorted({*PER_PAGE_CHOICES, filters.per_page})
        context.update(form=task_form(), owner_choices=filter_owner_choices(current_user),
                       per_page_options=[(n, str(n)) for n in sizes])
    resp = render_page_or_fragment("tasks/index.html", "tasks/_list.html", **context)
    if wants_fragment():
        # The form sends every field, empty ones too; the address bar gets the short form.
        push_url_unless_current(resp, url_for("tasks.index", **filters.query_params()))
    return resp


@bp.get("/export.csv")
def export():
    """Every task of the filtered, sorted list (all pages) as CSV, streamed in chunks."""
    filters, _ = list_filters()
    filename = f"tasks-{utcnow():%Y%m%d-%H%M}.csv"
    resp = Response(
        stream_with_context(tasks_csv(current_user, filters)), mimetype="text/csv"
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("")
def create():
    """Create a task from the quick-add or the full form."""
    form = task_form()
    if form.validate_on_submit():
        try:
            task = task_service.create_task(
                current_user, form.to_data(), form.submission_key_value()
            )
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        except AlreadySubmitted as error:
            return already_created(error.result)
        else:
            if wants_fragment():
                html = render_template("tasks/_row.html", task=task)
                fresh_form = task_form(formdata=None)
                html += render_template("tasks/_quick_add.html", form=fresh_form, oob=True)
                return with_flash(make_response(html, 201), f"Added “{task.title}”.")
            flash(f"Added “{task.title}”.", "success")
            return redirect_after_post(next_url(url_for("tasks.index")))
    if wants_fragment():
        resp = make_response(render_template("tasks/_quick_add.html", form=form, oob=False), 422)
        resp.headers["HX-Retarget"] = "#quick-add"
        resp.headers["HX-Reswap"] = "outerHTML"
        return resp
    return make_response(render_template("tasks/new.html", form=form), 422)


def already_created(task: Task | None):
    """The answer to a create form sent a second time: nothing new, say so."""
    message = f"“{task.title}” was already added." if task else "That task is already being added."
    if wants_fragment():
        return with_flash(make_response(""), message, "info")
    flash(message, "info")
    return redirect_after_post(next_url(url_for("tasks.index")))


@bp.get("/new")
def new():
    """The full form for a new task."""
    return render_template("tasks/new.html", form=task_form())


@bp.get("/<int:task_id>")
def detail(task_id: int):
    """One task with its files and its timeline (status changes and comments)."""
    task = task_service.get_task_for(current_user, task_id)
    return render_task_page(task)


def render_task_page(task: Task, status: int = 200, **context):
    """The task's page. The attachment and comment views pass their form (with its errors)
    when they show the page again after a refused post without JavaScript."""
    context.setdefault("attachments", attachment_service.attachments_of_task(task))
    context.setdefault("upload_error", None)
    context.setdefault("timeline", comment_service.task_timeline(task))
    context.setdefault("comment_form", CommentForm(formdata=None))
    return make_response(render_template("tasks/detail.html", task=task, **context), status)


@bp.get("/<int:task_id>/row")
def row(task_id: int):
    """The list row of a task, as a fragment (htmx: cancel an inline edit)."""
    task = task_service.get_task_for(current_user, task_id)
    return render_template("tasks/_row.html", task=task)


@bp.get("/<int:task_id>/edit")
def edit(task_id: int):
    """The edit form: a full page, or an inline row for htmx."""
    task = task_service.get_task_for(current_user, task_id, "update")
    return render_edit(task, task_form(task))


def render_edit(task: Task, form: TaskForm, status: int = 200, conflict: Task | None = None):
    return render_page_or_fragment(
        "tasks/edit.html", "tasks/_row_edit.html", status, task=task, form=form, conflict=conflict
    )


@bp.post("/<int:task_id>")
def update(task_id: int):
    """Save an edit; a stale version is refused and the newer values are shown."""
    task = task_service.get_task_for(current_user, task_id, "update")
    form = task_form(task)
    if form.validate_on_submit():
        try:
            task = task_service.update_task(
                current_user, task.id, form.to_data(), form.expected_version()
            )
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        except Conflict as error:
            # Keep what the user typed, show the newer values, and let a second save win.
            form.version.data = str(error.current.version)
            form.form_errors.append(
                f"{error.message} Check its current values below, then save again."
            )
            return render_edit(error.current, form, 409, conflict=error.current)
        else:
            if wants_fragment():
                resp = make_response(render_template("tasks/_row.html", task=task))
                return with_flash(resp, f"Saved “{task.title}”.")
            flash(f"Saved “{task.title}”.", "success")
            return redirect_after_post(next_url(url_for("tasks.detail", task_id=task.id)))
    return render_edit(task, form, 422)


@bp.post("/<int:task_id>/toggle")
def toggle(task_id: int):
    """Complete an open task or reopen a completed one."""
    task = task_service.toggle_task(current_user, task_id)
    message = f"Completed “{task.title}”." if task.is_completed else f"Reopened “{task.title}”."
    if wants_fragment():
        return with_flash(make_response(render_template("tasks/_row.html", task=task)), message)
    flash(message, "success")
    return redirect_after_post(next_url(url_for("tasks.index")))


@bp.get("/<int:task_id>/delete")
def confirm_delete(task_id: int):
    """Ask before deleting (the path without JavaScript; htmx asks with hx-confirm)."""
    task = task_service.get_task_for(current_user, task_id, "delete")
    return render_template("tasks/confirm_delete.html", task=task)


@bp.post("/<int:task_id>/delete")
def delete(task_id: int):
    """Delete a task."""
    task = task_service.delete_task(current_user, task_id)
    message = f"Deleted “{task.title}”."
    if wants_fragment():
        return with_flash(make_response(""), message)
    flash(message, "success")
    return redirect_after_post(url_for("tasks.index"))
