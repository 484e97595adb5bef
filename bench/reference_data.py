"""The 1,000 tasks of the side-by-side benchmark (bench/peer.py): three users, every field as
Taskdeck's JSON API writes it. The FastAPI reference server holds them in memory and peer.py
loads the same rows into Taskdeck's database, so both answer the same question with the same
rows. Plain Python only: the reference server's environment imports it too.

User 1 has 100 pending tasks, so `?status=pending&userId=1` answers 100 rows on both sides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

USERS = [
    {"id": 1, "username": "peer1", "name": "Pat Peer"},
    {"id": 2, "username": "peer2", "name": "Robin Peer"},
    {"id": 3, "username": "peer3", "name": "Sam Peer"},
]
TASK_COUNT = 1000
PENDING_PER_USER = 100
MEASURED_USER_ID = 1
START = datetime(2026, 1, 1, 8, 0, 0)
PRIORITIES = ("low", "medium", "high")
WORDS = ("Review", "Send", "Plan", "Fix", "Call", "Write", "Book", "Check")
OBJECTS = ("the budget", "the invoice", "the release notes", "the dentist", "the offsite",
           "the backup", "the quarterly report", "the team lunch")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def tasks() -> list[dict]:
    """The tasks in id order, as `GET /api/tasks` shows them."""
    seen_per_user = {user["id"]: 0 for user in USERS}
    rows = []
    for task_id in range(1, TASK_COUNT + 1):
        user_id = USERS[(task_id - 1) % len(USERS)]["id"]
        nth = seen_per_user[user_id]
        seen_per_user[user_id] += 1
        if nth < PENDING_PER_USER:
            status = "pending"
        else:
            status = ("in-progress", "completed")[nth % 2]
        created = START + timedelta(hours=task_id)
        completed = created + timedelta(days=2) if status == "completed" else None
        rows.append({
            "id": task_id,
            "title": f"{WORDS[task_id % len(WORDS)]} {OBJECTS[task_id % len(OBJECTS)]}",
            "status": status,
            "userId": user_id,
            "description": "Numbers from the dashboard, one page at most." if task_id % 3 else None,
            "priority": PRIORITIES[task_id % 3],
            "dueDate": (created + timedelta(days=14)).date().isoformat() if task_id % 2 else None,
            "createdAt": _stamp(created),
            "updatedAt": _stamp(completed or created),
            "completedAt": _stamp(completed),
            "version": 2 if completed else 1,
            "city": None,
            "weather": None,
            "repo": None,
        })
    return rows
