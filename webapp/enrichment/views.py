"""Enrichment fragments under /tasks/<id>/: the weather and the GitHub repository of a task.

Pages render the stored snapshot, or a placeholder whose `hx-trigger="load"` asks `show` for
it; `refresh` fetches again. Both answer a fragment to htmx and redirect plain form posts.
"""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from ..htmx import redirect_after_post, safe_next_url, wants_fragment
from ..models import Task
from ..services import enrichment
from ..services import tasks as task_service
from ..services.errors import Throttled

bp = Blueprint("enrichment", __name__, url_prefix="/tasks")
KIND = "<any(weather, repo):kind>"


@bp.before_request
@login_required
def require_login():
    """Every enrichment fragment needs a logged-in user."""


@bp.app_template_global()
def enrichment_due(task: Task, kind: str) -> bool:
    """Templates: whether a placeholder should load this enrichment when the page shows."""
    return enrichment.is_due(task, kind)


@bp.app_template_global()
def enrichment_enabled() -> bool:
    """Templates: whether outgoing calls are switched on (no Refresh buttons otherwise)."""
    return enrichment.enabled()


def render_fragment(task: Task, kind: str, retry_in: int | None = None) -> str:
    """The enrichment fragment; `compact=1` asks for the list row's shorter form.

    `retry_in`: the user's budget of lookups is used up; the fragment says so and asks
    again after that many seconds (nothing was fetched or stored).
    """
    compact = request.values.get("compact") == "1"
    return render_template("enrichment/_enrichment.html", task=task, kind=kind,
                           compact=compact, retry_in=retry_in)


def load_or_wait(task_id: int, kind: str, force: bool = False) -> tuple[Task, int | None]:
    """The task with its snapshot, or (over the lookup budget) as stored and the seconds to
    wait before asking again."""
    try:
        return enrichment.load(current_user, task_id, kind, force=force), None
    except Throttled as error:
        return task_service.get_task_for(current_user, task_id), error.retry_after


@bp.get(f"/<int:task_id>/{KIND}")
def show(task_id: int, kind: str):
    """The task's weather or repository fragment, fetched and stored first when it is due."""
    task, retry_in = load_or_wait(task_id, kind)
    return render_fragment(task, kind, retry_in)


@bp.post(f"/<int:task_id>/{KIND}/refresh")
def refresh(task_id: int, kind: str):
    """Ask the outside service again (Refresh, or Retry after a failure); the same per-user
    budget of lookups as page loads (ENRICHMENT_USER_LIMIT)."""
    task, retry_in = load_or_wait(task_id, kind, force=True)
    if wants_fragment():
        return render_fragment(task, kind, retry_in)
    if retry_in is not None:
        flash(f"Too many lookups at outside services; try again in {retry_in} s.", "info")
    next_url = request.form.get("next") or url_for("tasks.detail", task_id=task.id)
    return redirect_after_post(safe_next_url(next_url, url_for("tasks.detail", task_id=task.id)))
