"""The analytics dashboard at /dashboard: a user's own figures, everyone's for admins."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_login import current_user, login_required

from ..htmx import push_url_unless_current, render_page_or_fragment, wants_fragment
from ..services import stats
from ..services.users import filter_owner_choices
from .charts import flow_chart

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def require_login():
    """Every dashboard page needs a logged-in user."""


@bp.get("")
def index():
    """Figures for the chosen period (and, for admins, the chosen user).

    htmx requests from the period controls get only the dashboard body.
    """
    query, errors = stats.parse_dashboard_query(request.args, current_user)
    board = stats.dashboard(current_user, query)
    context = dict(
        board=board, filter_errors=errors, chart=flow_chart(board),
        owner_choices=filter_owner_choices(current_user),
        params=stats.DashboardParams,
    )
    resp = render_page_or_fragment("dashboard/index.html", "dashboard/_body.html", **context)
    if wants_fragment():
        # The address bar gets the period as it was understood, without empty fields.
        push_url_unless_current(resp, url_for("dashboard.index", **query.query_params()))
    return resp


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    """A length of time for people: "3 days 4 hours", "2 hours 5 minutes", "—" when none."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)

    def unit(n: int, name: str) -> str:
        return f"{n} {name}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    return unit(minutes, "minute") if minutes else "under a minute"
