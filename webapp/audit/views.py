"""The audit trail for admins at /admin/audit: page through events, filter them."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from ..htmx import render_page_or_fragment
from ..services.audit import AuditFilters, audit_events

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.before_request
@login_required
def require_login():
    """Every audit page needs a logged-in user (the service checks that it is an admin)."""


@bp.get("")
def index():
    """Audit events, newest first, filtered by user, action and date (admins only)."""
    filters, filter_errors = AuditFilters.from_args(request.args, "page")
    pagination = audit_events(current_user, filters)
    return render_page_or_fragment(
        "audit/index.html", "audit/_list.html",
        events=pagination.items, pagination=pagination, filters=filters,
        filter_errors=filter_errors, params=AuditFilters,
        # The paging links add their own page to the filters.
        query=filters.model_copy(update={"page": 1}).to_args("page"),
    )
