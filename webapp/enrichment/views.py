"""Enrichment fragments under /tasks/<id>/: the weather and the GitHub repository of a task.

Pages render the stored snapshot, or a placeholder whose `hx-trigger="load"` asks `show` for
it; `refresh` fetches again. Both answer a fragment to htmx and redirect plain form posts.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import limiter
from ..htmx import redirect_after_post, safe_next_url, wants_fragment
from ..models import Task
from ..services import enrichment

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


def render_fragment(task: Task, kind: str) -> str:
    """The enrichment fragment; `compact=1` asks for the list row's shorter form."""
    compact = request.values.get("compact") == "1"
    return render_template("enrichment/_enrichment.html", task=task, kind=kind, compact=compact)


@bp.get(f"/<int:task_id>/{KIND}")
def show(task_id: int, kind: str):
    """The task's weather or repository fragment, fetched and stored first when it is due."""
    task = enrichment.load(current_user, task_id, kind)
    return render_fragment(task, kind)


def _refresh_key() -> str:
    return f"enrichment-refresh:{current_user.get_id()}"


@bp.post(f"/<int:task_id>/{KIND}/refresh")
# Refresh skips the cache, so each user's refreshes are limited to spare the services' quotas.
@limiter.limit(lambda: current_app.config["ENRICHMENT_REFRESH_LIMIT"], key_func=_refresh_key)
def refresh(task_id: int, kind: str):
    """Ask the outside service again (Refresh, or Retry after a failure)."""
    task = enrichment.load(current_user, task_id, kind, force=True)
    if wants_fragment():
        return render_fragment(task, kind)
    next_url = request.form.get("next") or url_for("tasks.detail", task_id=task.id)
    return redirect_after_post(safe_next_url(next_url, url_for("tasks.detail", task_id=task.id)))
