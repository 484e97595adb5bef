"""Task pages at /tasks: list, board, quick add, detail, edit, inline changes,
complete/reopen, delete with Undo.

Every write answers htmx with the changed fragment and plain forms with a 303 redirect.
"""

from __future__ import annotations

import json
import uuid
from collections import namedtuple
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

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
from werkzeug.datastructures import MultiDict

from ..comments.forms import CommentForm
from ..forms_util import copy_errors_to_form, sent_version
from ..htmx import (
    TASKS_CHANGED_TRIGGER,
    push_url_unless_current,
    redirect_after_post,
    render_page_or_fragment,
    safe_next_url,
    wants_fragment,
)
from ..models import STATUS_LABELS, STATUSES, Task, utcnow
from ..services import attachments as attachment_service
from ..services import comments as comment_service
from ..services import labels as label_service
from ..services import tasks as task_service
from ..services.errors import AlreadySubmitted, Conflict, Invalid, NotFound
from ..services.export import tasks_csv
from ..services.quick_add import parse_quick_add
from ..services.task_queries import (
    PER_PAGE_CHOICES,
    TaskFilters,
    TaskListParams,
    board_columns,
    paginate_tasks,
    task_filters_from_args,
)
from ..services.users import assignable_users, filter_owner_choices, get_user_for
from ..templating import viewer_today
from .forms import QUICK_ADD_MAX, QuickAddForm, RowFieldsForm, TaskForm, TaskLabelsForm

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
    "detail": "tasks.detail", "complete": "tasks.complete", "reopen": "tasks.reopen",
    "edit": "tasks.edit",
    "confirm_delete": "tasks.confirm_delete", "delete": "tasks.delete",
    "fields": "tasks.fields", "edit_title": "tasks.edit_title", "edit_due": "tasks.edit_due",
    "move": "tasks.move", "labels": "tasks.labels",
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


Chip = namedtuple("Chip", "text href")


@bp.app_template_global()
def filter_chips(filters: TaskFilters, endpoint: str) -> list[Chip]:
    """The filters in effect as chips, each linking to the same view without it; their
    words come from the parameters' declaration (TaskListParams)."""
    def without(**change) -> str:
        return url_for(endpoint, **replace(filters, page=1, **change).query_params())

    chips = []
    for field in NARROWING_CHIP_FIELDS:
        value = getattr(filters, field)
        if value is None or value == "":
            continue
        declared = TaskListParams.param(field)
        if field == "owner_id":
            try:
                shown = get_user_for(current_user, value).display_name
            except NotFound:
                shown = f"user {value}"
        elif declared.choices:
            shown = declared.choices[value]
        else:
            shown = value.isoformat() if hasattr(value, "isoformat") else value
        chips.append(Chip(f"{declared.label}: {shown}", without(**{field: None})))
    for name in filters.labels:
        chips.append(Chip(f"#{name}", url_for(endpoint, **filters.without_label(name)
                                              .query_params())))
    return chips


# The filters shown as chips, in the order of the filter bar (labels get one chip each).
NARROWING_CHIP_FIELDS = ("q", "status", "priority", "due", "owner_id", "created_from",
                         "created_to")


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


def list_filters(args=None) -> tuple[TaskFilters, dict[str, str]]:
    """The list's (and board's) filters from the query string, and a message per ignored
    parameter. Open tasks come first unless sorted by status."""
    filters, errors = task_filters_from_args(
        request.args if args is None else args, "page",
        default_per_page=current_app.config["TASKS_PER_PAGE"],
    )
    return replace(filters, open_first=True), errors


def quick_add_form(**kwargs) -> QuickAddForm:
    kwargs.setdefault("submission_key", uuid.uuid4().hex)
    return QuickAddForm(**kwargs)


def filter_bar_context(filters: TaskFilters) -> dict:
    """What the search, the filter form and its chips need (full pages only)."""
    sizes = sorted({*PER_PAGE_CHOICES, filters.per_page})
    return dict(owner_choices=filter_owner_choices(current_user),
                per_page_options=[(n, str(n)) for n in sizes], params=TaskListParams,
                my_labels=label_service.labels_of(current_user))


@bp.get("")
def index():
    """The current user's tasks (every task for admins): search, filters, list and quick add.

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
    label_service.attach_labels(pagination.items)
    context = dict(
        tasks=pagination.items, pagination=pagination, filters=filters,
        filter_errors=filter_errors,
    )
    if not wants_fragment():  # the filter bar and quick add are only on the full page
        context.update(quick_form=quick_add_form(), **filter_bar_context(filters))
    resp = render_page_or_fragment("tasks/index.html", "tasks/_list.html", **context)
    if wants_fragment():
        # The form sends every field, empty ones too; the address bar gets the short form.
        push_url_unless_current(resp, url_for("tasks.index", **filters.query_params()))
    return resp


def board_context(filters: TaskFilters) -> dict:
    columns = board_columns(current_user, filters)
    label_service.attach_labels(task for column in columns for task in column.tasks)
    return dict(columns=columns, filters=filters)


@bp.get("/board")
def board():
    """The same tasks as the list, one column per status; cards move between columns by
    drag and drop, by keyboard, or with each card's "Move to" form."""
    filters, filter_errors = list_filters()
    context = dict(board_context(filters), filter_errors=filter_errors)
    if not wants_fragment():
        context.update(quick_form=quick_add_form(), **filter_bar_context(filters))
    resp = render_page_or_fragment("tasks/board.html", "tasks/_board.html", **context)
    if wants_fragment():
        resp.headers["HX-Push-Url"] = url_for("tasks.board", **filters.query_params())
    return resp


def filters_of_current_page() -> TaskFilters:
    """The filters of the page an htmx request came from (HX-Current-URL), so a fragment
    re-drawn after a change shows the same view."""
    query = urlsplit(request.headers.get("HX-Current-URL", "")).query
    return list_filters(MultiDict(parse_qsl(query, keep_blank_values=True)[:100]))[0]


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
    """Create a task from the quick-add line (`quick=1`) or the full form."""
    if request.form.get("quick") == "1":
        return create_from_quick_add()
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
            return created(task)
    if wants_fragment():
        return quick_add_errors(quick_add_form(title=form.title.data), form.title.errors)
    return make_response(render_template("tasks/new.html", form=form), 422)


def create_from_quick_add():
    """The quick-add line, read by the same parser as the preview under the field."""
    form = quick_add_form()
    if not form.validate():
        return quick_add_failed(form, form.title.errors)
    parsed = parse_quick_add(form.title.data or "", viewer_today())
    data = task_service.TaskData(
        title=parsed.title, priority=parsed.priority or "medium", due_date=parsed.due_date,
        labels=list(parsed.labels),
    )
    try:
        task = task_service.create_task(current_user, data, form.submission_key_value())
    except Invalid as error:
        messages = [m for field in ("title", "labels") for m in error.field_errors.get(field, [])]
        return quick_add_failed(form, messages or ["This task cannot be added."])
    except AlreadySubmitted as error:
        return already_created(error.result)
    return created(task)


def created(task: Task):
    if wants_fragment():
        label_service.attach_labels([task])
        html = render_template("tasks/_row.html", task=task)
        html += render_template("tasks/_quick_add.html", quick_form=quick_add_form(
            formdata=None), oob=True)
        return with_flash(make_response(html, 201), f"Added “{task.title}”.")
    flash(f"Added “{task.title}”.", "success")
    return redirect_after_post(next_url(url_for("tasks.index")))


def quick_add_errors(form: QuickAddForm, messages: list[str]):
    """The quick-add form again, with its messages, in place of the one on the page."""
    form.title.errors = list(messages)
    resp = make_response(render_template("tasks/_quick_add.html", quick_form=form, oob=False),
                         422)
    resp.headers["HX-Retarget"] = "#quick-add"
    resp.headers["HX-Reswap"] = "outerHTML"
    return resp


def quick_add_failed(form: QuickAddForm, messages: list[str]):
    if wants_fragment():
        return quick_add_errors(form, messages)
    # Without JavaScript: the full form, with what the line said filled in.
    parsed = parse_quick_add(form.title.data or "", viewer_today())
    full = task_form(formdata=None, title=parsed.title, priority=parsed.priority or "medium",
                     due_date=parsed.due_date, label_names=" ".join(parsed.labels))
    full.title.errors = list(messages)
    return make_response(render_template("tasks/new.html", form=full), 422)


@bp.get("/quick-add/preview")
def quick_add_preview():
    """What the quick-add line will set, shown under the field as it is typed."""
    text = (request.args.get("title") or "")[:QUICK_ADD_MAX]
    parsed = parse_quick_add(text, viewer_today())
    known = {label.name_key for label in label_service.labels_of(current_user)}
    new_labels = [name for name in parsed.labels if label_service.name_key(name) not in known]
    return render_template("tasks/_quick_preview.html", parsed=parsed, text=text,
                           new_labels=new_labels)


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


def render_row(task: Task, status: int = 200):
    """A task's list row as a fragment (labels loaded with it)."""
    label_service.attach_labels([task])
    return make_response(render_template("tasks/_row.html", task=task), status)


@bp.get("/<int:task_id>/row")
def row(task_id: int):
    """The list row of a task, as a fragment (htmx: cancel an inline edit)."""
    return render_row(task_service.get_task_for(current_user, task_id))


@bp.get("/<int:task_id>/card")
def card(task_id: int):
    """The board card of a task, as a fragment (htmx: cancel a label edit)."""
    task = task_service.get_task_for(current_user, task_id)
    label_service.attach_labels([task])
    return render_template("tasks/_card.html", task=task)


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
                return with_flash(render_row(task), f"Saved “{task.title}”.")
            flash(f"Saved “{task.title}”.", "success")
            return redirect_after_post(next_url(url_for("tasks.detail", task_id=task.id)))
    return render_edit(task, form, 422)


@bp.get("/<int:task_id>/edit/title")
def edit_title(task_id: int):
    """The title alone, editable in place in its row (htmx); the full form otherwise."""
    task = task_service.get_task_for(current_user, task_id, "update")
    if not wants_fragment():
        return redirect_after_post(url_for("tasks.edit", task_id=task.id))
    return render_template("tasks/_field_edit.html", task=task, field="title",
                           form=RowFieldsForm(formdata=None, obj=task))


@bp.get("/<int:task_id>/edit/due")
def edit_due(task_id: int):
    """The due date alone, editable in place in its row (htmx); the full form otherwise."""
    task = task_service.get_task_for(current_user, task_id, "update")
    if not wants_fragment():
        return redirect_after_post(url_for("tasks.edit", task_id=task.id))
    return render_template("tasks/_field_edit.html", task=task, field="due_date",
                           form=RowFieldsForm(formdata=None, obj=task))


@bp.post("/<int:task_id>/fields")
def fields(task_id: int):
    """Change a task's title, status, priority and/or due date from its row (whatever the
    form sends), with the version check of every edit."""
    task = task_service.get_task_for(current_user, task_id, "update")
    form = RowFieldsForm()
    if form.validate_on_submit():
        try:
            task = task_service.change_task(current_user, task.id, form.changes(),
                                            form.expected_version())
        except Invalid as error:
            messages = [m for ms in error.field_errors.values() for m in ms]
            return row_refused(task, " ".join(messages), 422)
        except Conflict as error:
            return row_refused(error.current, f"{error.message} Its current values are shown.",
                               409)
        message = f"Saved “{task.title}”."
        if wants_fragment():
            return with_flash(render_row(task), message)
        flash(message, "success")
        return redirect_after_post(next_url(url_for("tasks.index")))
    messages = [m for ms in form.errors.values() for m in ms]
    return row_refused(task, " ".join(map(str, messages)), 422)


def row_refused(task: Task, message: str, status: int):
    """A row change that did not happen: the row as it is now and why (htmx), or the
    error page without JavaScript."""
    if wants_fragment():
        db_task = task_service.get_task_for(current_user, task.id)
        return with_flash(render_row(db_task, status), message, "error")
    flash(message, "error")
    return redirect_after_post(next_url(url_for("tasks.index")))


@bp.post("/<int:task_id>/move")
def move(task_id: int):
    """Move a card to another column of the board (drag and drop, keyboard, or the card's
    "Move to" form): a status change with the version check, history and audit of every
    edit. htmx gets the board again, as its page shows it."""
    task = task_service.get_task_for(current_user, task_id, "update")
    form = RowFieldsForm()
    status, message, category = 200, None, "success"
    if not form.validate_on_submit() or "status" not in form.changes():
        status, category = 422, "error"
        message = "Choose a column: " + ", ".join(STATUS_LABELS[s] for s in STATUSES) + "."
    elif task.status == form.status.data:
        # Already there (the same move sent twice, or the `x` key pressed twice): the card
        # shows the state it asked for, whatever its version says.
        message = f"“{task.title}” is already in {STATUS_LABELS[task.status]}."
    else:
        try:
            task = task_service.change_task(current_user, task.id,
                                            {"status": form.status.data},
                                            form.expected_version())
            message = f"Moved “{task.title}” to {STATUS_LABELS[task.status]}."
        except Conflict as error:
            status, category = 409, "error"
            message = (f"“{error.current.title}” was changed by someone else; "
                       "the board shows it as it is now.")
    if wants_fragment():
        html = render_template("tasks/_board.html", **board_context(filters_of_current_page()),
                               filter_errors={}, moved_id=task.id)
        return with_flash(make_response(html, status), message, category)
    flash(message, category)
    return redirect_after_post(next_url(url_for("tasks.board")))


@bp.route("/<int:task_id>/labels", methods=["GET", "POST"])
def labels(task_id: int):
    """Choose a task's labels among its owner's (or type new ones): a page without
    JavaScript, the card's own small form with htmx."""
    task = task_service.get_task_for(current_user, task_id, "update")
    owner_labels = label_service.labels_of(task.owner)
    form = TaskLabelsForm(formdata=request.form if request.method == "POST" else None,
                          chosen=[label.name for label in task.labels],
                          version=str(task.version))
    form.chosen.choices = [(label.name, label.name) for label in owner_labels]
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            task = task_service.change_labels(current_user, task.id, form.names(),
                                              sent_version(form.version))
        except Invalid as error:
            copy_errors_to_form(form, {"new_labels": error.field_errors.get("labels", [])})
            status = 422
        except Conflict as error:
            form.form_errors.append(f"{error.message} Its labels are shown as they are now.")
            task, status = error.current, 409
            form.version.data = str(task.version)
        else:
            message = f"Labels of “{task.title}” saved."
            if wants_fragment():
                label_service.attach_labels([task])
                html = render_template("tasks/_card.html", task=task)
                return with_flash(make_response(html), message)
            flash(message, "success")
            return redirect_after_post(next_url(url_for("tasks.board")))
    elif request.method == "POST":
        status = 422
    return render_page_or_fragment("tasks/labels.html", "tasks/_card_labels.html", status,
                                   task=task, form=form, owner_labels=owner_labels)


@bp.post("/<int:task_id>/complete")
def complete(task_id: int):
    """Complete a task. The form says which state it wants, so the same form sent twice (a
    double click, a second tab, a retry) leaves the task completed, with its first
    completion time."""
    return completion_changed(task_service.set_completed(current_user, task_id, True))


@bp.post("/<int:task_id>/reopen")
def reopen(task_id: int):
    """Reopen a completed task (back to Pending); an open task stays as it is."""
    return completion_changed(task_service.set_completed(current_user, task_id, False))


def completion_changed(task: Task):
    message = f"Completed “{task.title}”." if task.is_completed else f"Reopened “{task.title}”."
    if wants_fragment():
        return with_flash(render_row(task), message)
    flash(message, "success")
    return redirect_after_post(next_url(url_for("tasks.index")))


@bp.get("/<int:task_id>/delete")
def confirm_delete(task_id: int):
    """Ask before deleting (the path without JavaScript; with htmx the row goes at once and
    offers Undo)."""
    task = task_service.get_task_for(current_user, task_id, "delete")
    return render_template("tasks/confirm_delete.html", task=task)


@bp.post("/<int:task_id>/delete")
def delete(task_id: int):
    """Delete a task: it goes to the bin at once, and "Undo" brings it back."""
    task = task_service.delete_task(current_user, task_id)
    task_service.purge_deleted_tasks()  # housekeeping: the bin's expired tasks, if any
    if wants_fragment():
        html = render_template("tasks/_undo.html", task=task, oob=True)
        return make_response(html)
    flash({"id": task.id, "title": task.title}, "undo")  # _flash.html offers its Undo
    return redirect_after_post(next_url(url_for("tasks.index")))


@bp.post("/<int:task_id>/restore")
def restore(task_id: int):
    """Undo a delete: the task comes back with its history, labels and snapshots."""
    task = task_service.restore_task(current_user, task_id)
    message = f"Restored “{task.title}”."
    if wants_fragment():
        resp = with_flash(make_response(render_template("tasks/_undo.html", task=None,
                                                        oob=True)), message)
        # The page re-draws its list or board, which puts the task back where it belongs.
        resp.headers["HX-Trigger"] = json.dumps({"taskdeck:restored": {"id": task.id}})
        return resp
    flash(message, "success")
    return redirect_after_post(next_url(url_for("tasks.index")))
