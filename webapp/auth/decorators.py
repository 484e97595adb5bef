"""View decorators for whole areas; `permissions.can()` still decides inside the services."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from ..extensions import login_manager


def role_required(role: str):
    """Refuse the view to anonymous visitors (login) and to users without the role (403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != role:
                abort(403, "This page is for admins only.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
