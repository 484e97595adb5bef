"""The only place that knows what each role may do."""

from __future__ import annotations

from typing import Any

from ..models import User

# Actions on a task; "view" covers reading it, the others change it. "comment" and "attach"
# (add or remove its files) follow the task's own rule: its owner and admins.
TASK_ACTIONS = frozenset({"view", "update", "delete", "assign", "comment", "attach"})
# Actions on a comment: its author edits it; its author or an admin deletes it.
COMMENT_ACTIONS = frozenset({"edit_comment", "delete_comment"})
# Actions that do not concern one task.
GLOBAL_ACTIONS = frozenset({
    "view_all_tasks", "manage_users", "view_all_stats", "view_audit",
})


def can(user: User | None, action: str, target: Any = None) -> bool:
    """Return whether the user may perform the action (on the task or comment, when given)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if action in COMMENT_ACTIONS:
        if target is None:
            return False
        if action == "delete_comment" and user.is_admin:
            return True
        return target.author_id == user.id
    if action not in TASK_ACTIONS and action not in GLOBAL_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user.is_admin:
        return True
    if action in GLOBAL_ACTIONS or action == "assign":
        return False
    return target is not None and target.owner_id == user.id
