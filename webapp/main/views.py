"""The home redirect and the health check."""

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Send visitors to their task list, or straight to the login page (no "please log in"
    message: nobody asked for a protected page yet)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("tasks.index"))


@bp.get("/health")
def health():
    """Public liveness check that also reports whether the database answers."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "error", "message": "database unreachable",
                        "database": "down"}), 503
    return jsonify({"status": "ok", "message": "Taskdeck is running", "database": "ok"})
