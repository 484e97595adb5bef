"""The audit trail for admins at /admin/audit: page through events, filter them."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from ..htmx import render_page_or_fragment
from ..services.audit import ACTIONS, AuditFilters, audit_events, parse_audit_filters

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.before_request
@login_required
def require_login():
    """Every audit page needs a logged-in user (the service checks that it is an admin)."""


def filter_args(filters: AuditFilters) -> dict[str, str]:
    """The query parameters that reproduce the filters (for paging links)."""
    values = {
        "user": filters.user, "action": filters.action,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }
    return {name: value for name, value in values.items() if value}


@bp.get("")
def index():
    """Audit events, newest first, filtered by user, action and date (admins only)."""
    filters, filter_errors = parse_audit_filters(request.args)
    pagination = audit_events(current_user, filters)
    return render_page_or_fragment(
        "audit/index.html", "audit/_list.html",
        events=pagination.items, pagination=pagination, filters=filters,
        filter_errors=filter_errors, query=filter_args(filters), actions=ACTIONS,
    )
