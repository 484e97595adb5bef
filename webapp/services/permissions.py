"""The only place that knows what each role may do."""

from __future__ import annotations

from ..models import Task, User

# Actions on a task; "view" covers reading it, the others change it.
TASK_ACTIONS = frozenset({"view", "update", "delete", "assign"})
# Actions that do not concern one task.
GLOBAL_ACTIONS = frozenset({
    "view_all_tasks", "manage_users", "view_all_stats", "view_audit",
})


def can(user: User | None, action: str, task: Task | None = None) -> bool:
    """Return whether the user may perform the action (on the task, when given)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if action not in TASK_ACTIONS and action not in GLOBAL_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user.is_admin:
        return True
    if action in GLOBAL_ACTIONS or action == "assign":
        return False
    return task is not None and task.owner_id == user.id
