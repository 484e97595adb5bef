"""Account administration at /admin/users: roles, deactivation (admins only)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, render_template, url_for
from flask_login import current_user, login_required

from ..auth.decorators import role_required
from ..htmx import redirect_after_post, wants_fragment
from ..services import stats
from ..services import users as user_service
from ..services.errors import Invalid
from .forms import ROLE_LABELS, UserActiveForm, UserRoleForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
@role_required("admin")
def require_admin():
    """Every page here is for admins; others get 403."""


@bp.get("/users")
def users():
    """Every account with its role, status, task counts and last login."""
    rows = stats.user_task_counts(current_user)
    return render_template("admin/users.html", rows=rows, role_labels=ROLE_LABELS)


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change an account's role."""
    form = UserRoleForm()
    if not form.validate_on_submit():
        return answer(user_id, "Choose a valid role.", 422)
    try:
        user = user_service.set_role(current_user, user_id, form.role.data)
    except Invalid as error:
        return answer(user_id, _first_message(error), 422)
    return answer(user.id, f"{user.display_name} is now {ROLE_LABELS[user.role].lower()}.")


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int):
    """Deactivate an account (its sessions end at once) or reactivate it."""
    form = UserActiveForm()
    if not form.validate_on_submit():
        return answer(user_id, "Choose active or deactivated.", 422)
    try:
        user = user_service.set_active(current_user, user_id, form.active.data == "1")
    except Invalid as error:
        return answer(user_id, _first_message(error), 422)
    state = "reactivated" if user.is_active else "deactivated"
    return answer(user.id, f"{user.display_name} is {state}.")


def _first_message(error: Invalid) -> str:
    return next(iter(error.field_errors.values()))[0]


def answer(user_id: int, message: str, status: int = 200):
    """htmx: the account's row again plus the message out of band; else the page or a 303."""
    category = "success" if status < 400 else "error"
    if wants_fragment():
        rows = stats.user_task_counts(current_user, user_id=user_id)
        html = "".join(
            render_template("admin/_user_row.html", row=row, role_labels=ROLE_LABELS)
            for row in rows
        )
        html += render_template("_flash_oob.html", messages=[(category, message)])
        return make_response(html, status)
    if status >= 400:
        rows = stats.user_task_counts(current_user)
        html = render_template("admin/users.html", rows=rows, role_labels=ROLE_LABELS,
                               messages=[(category, message)])
        return make_response(html, status)
    flash(message, category)
    return redirect_after_post(url_for("admin.users"))
