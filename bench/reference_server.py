"""The in-memory reference API of the side-by-side benchmark (bench/peer.py): a small FastAPI
service holding the 1,000 tasks of bench/reference_data.py, with the seed API's filter and
answer: `GET /api/tasks?status=&userId=` -> `{"tasks": [...], "count": N}`.

Run by peer.py under uvicorn with one worker, from bench/.venv (bench/requirements.txt):
    bench/.venv/bin/python -m uvicorn bench.reference_server:app --workers 1 --port 8100
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from bench.reference_data import USERS, tasks

app = FastAPI(title="Taskdeck reference (in memory)")
TASKS = tasks()
STATUSES = {"pending", "in-progress", "completed"}


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "message": "in-memory reference API"}


@app.get("/api/users")
def list_users() -> dict:
    return {"users": USERS, "count": len(USERS)}


@app.get("/api/tasks")
def list_tasks(status: str | None = None, userId: int | None = None) -> dict:  # noqa: N803
    """Every task, or those with the status and of the user asked for."""
    if status is not None:
        status = status.replace("_", "-")
        if status not in STATUSES:
            raise HTTPException(400, f"Unknown status {status!r}")
    found = [task for task in TASKS
             if (status is None or task["status"] == status)
             and (userId is None or task["userId"] == userId)]
    return {"tasks": found, "count": len(found)}


@app.get("/api/tasks/{task_id}")
def get_task(task_id: int) -> dict:
    if 1 <= task_id <= len(TASKS):
        return TASKS[task_id - 1]
    raise HTTPException(404, "Task not found")
