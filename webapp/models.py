"""Database models. All timestamps are naive datetimes in UTC."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .extensions import db

ROLES = ("user", "admin")
STATUSES = ("pending", "in-progress", "completed")
PRIORITIES = ("low", "medium", "high")
STATUS_LABELS = {"pending": "Pending", "in-progress": "In progress", "completed": "Completed"}
PRIORITY_LABELS = {"low": "Low", "medium": "Medium", "high": "High"}
# Label colours: names of a fixed palette whose chips keep 4.5:1 text contrast in light and
# dark mode (static/css/app.css defines each); the first is the default for a new label.
LABEL_COLOURS = ("blue", "green", "purple", "orange", "red", "teal", "pink", "grey")


def utcnow() -> datetime:
    """Current time in UTC, without tzinfo (the form every column stores)."""
    return datetime.now(UTC).replace(tzinfo=None)


def fold_for_search(text: str | None) -> str | None:
    """Text as the search compares it: Unicode case folding ("Straße" and "STRASSE" both give
    "strasse", "É" gives "é"), then NFC so composed and decomposed accents are one.

    Done here in Python, not by the database, so PostgreSQL (whose lower() depends on its
    locale) and SQLite (whose LIKE folds only ASCII) search the very same folded text.
    """
    return unicodedata.normalize("NFC", text.casefold()) if text is not None else None


def _folded_from_insert(column: str):
    """A column default for inserts that bypass the ORM (`demo bulk`): the folded value of
    the row's own `column`."""
    def default(context) -> str | None:
        return fold_for_search(context.get_current_parameters().get(column))
    return default


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case: usernames are case-insensitive and only allow a-z 0-9 _ . -
    username: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), default="user", nullable=False)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    last_login_at: Mapped[datetime | None]
    # Bumped to end every session of the user (logout everywhere, password change).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1", nullable=False)
    # IANA name of the viewer's time zone as the browser reported it; None until it has.
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))

    tasks: Mapped[list[Task]] = relationship(back_populates="owner", passive_deletes=True)

    __table_args__ = (sa.CheckConstraint(sa.text("role IN ('user', 'admin')"), name="role"),)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        # The session stores id and session version, so bumping the version logs it out.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"


# The indexes of the list's default order (see Task), by name: the columns before the order.
# Expression indexes, which SQLite's reflection skips: the schema comparison leaves them out
# and tests/test_migrations.py checks them by name.
OPEN_FIRST_INDEXES = {"ix_tasks_open_first": (), "ix_tasks_owner_id_open_first": ("owner_id",)}


class Task(TimestampMixin, db.Model):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", nullable=False)
    priority: Mapped[str] = mapped_column(sa.String(8), default="medium", nullable=False)
    due_date: Mapped[date | None]
    owner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    completed_at: Mapped[datetime | None]
    # Every edit increments it; SQLAlchemy refuses an UPDATE whose version has moved on.
    version: Mapped[int] = mapped_column(default=1, nullable=False)
    # "<actor id>:<key>" of the create form that made the task: unique, so the same form sent
    # twice makes one task whichever process receives it (migration 0003).
    submission_key: Mapped[str | None] = mapped_column(sa.String(80))
    # Set by a delete, which Undo clears; the task is purged for good some days later
    # (services.tasks.purge_deleted_tasks). Every read of tasks leaves deleted ones out.
    deleted_at: Mapped[datetime | None]

    # Enrichment: weather for a city, GitHub repository metadata.
    city: Mapped[str | None] = mapped_column(sa.String(100))
    weather: Mapped[dict | None] = mapped_column(sa.JSON)
    weather_status: Mapped[str | None] = mapped_column(sa.String(16))
    weather_error: Mapped[str | None] = mapped_column(sa.String(255))
    weather_fetched_at: Mapped[datetime | None]
    repo_full_name: Mapped[str | None] = mapped_column(sa.String(140))
    repo_stars: Mapped[int | None]
    repo_description: Mapped[str | None] = mapped_column(sa.Text)
    repo_url: Mapped[str | None] = mapped_column(sa.String(255))
    repo_status: Mapped[str | None] = mapped_column(sa.String(16))
    repo_error: Mapped[str | None] = mapped_column(sa.String(255))
    repo_fetched_at: Mapped[datetime | None]

    # The title and description folded for the text search (fold_for_search), kept in step by
    # _keep_search_text; indexed by pg_trgm on PostgreSQL and an FTS5 table on SQLite
    # (migration 0007, services/search.py). Only the database reads them: never loaded.
    search_title: Mapped[str | None] = mapped_column(
        sa.Text, default=_folded_from_insert("title"), deferred=True)
    search_description: Mapped[str | None] = mapped_column(
        sa.Text, default=_folded_from_insert("description"), deferred=True)

    owner: Mapped[User] = relationship(back_populates="tasks")
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="task", order_by="StatusChange.changed_at", passive_deletes=True
    )
    # Rows go with the task (ON DELETE CASCADE); the stored files are removed by the service
    # that deletes the task (services.attachments.remove_stored_files).
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="task", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(back_populates="task", passive_deletes=True)
    labels: Mapped[list[Label]] = relationship(
        secondary="task_labels", order_by="Label.name_key", passive_deletes=True,
        back_populates="tasks",
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint(
            sa.text("status IN ('pending', 'in-progress', 'completed')"), name="status"
        ),
        sa.CheckConstraint(sa.text("priority IN ('low', 'medium', 'high')"), name="priority"),
        # For the list's filters and sorts and the dashboard (migration 0002).
        sa.Index("ix_tasks_owner_id_created_at", "owner_id", "created_at"),
        sa.Index("ix_tasks_owner_id_status", "owner_id", "status"),
        sa.Index("ix_tasks_owner_id_due_date", "owner_id", "due_date"),
        sa.Index("ix_tasks_created_at", "created_at"),
        sa.Index("ix_tasks_due_date", "due_date"),
        sa.Index("ix_tasks_submission_key", "submission_key", unique=True),
        # The purge of tasks deleted long enough ago (migration 0008).
        sa.Index("ix_tasks_deleted_at", "deleted_at"),
        # The list page's default order (open tasks first, then newest first) of live tasks,
        # for one owner and for an admin across every owner (migration 0010): a page is then
        # the first entries of an index, not a sort of every match (1.6 s at 1,100,000 tasks
        # for an admin before; docs/BENCHMARKS.md). task_queries.OPEN_FIRST is the same
        # expression, written with a literal so that every plan can match it.
        *(sa.Index(name, *owner, sa.text("(status = 'completed')"), sa.text("created_at DESC"),
                   sa.text("id DESC"), postgresql_where=sa.text("deleted_at IS NULL"),
                   sqlite_where=sa.text("deleted_at IS NULL"))
          for name, owner in OPEN_FIRST_INDEXES.items()),
        # Substring search (migration 0007): trigram indexes on PostgreSQL only; SQLite has the
        # FTS5 table tasks_search instead, which is not a model (services/search.py).
        *(sa.Index(f"ix_tasks_{column}_trgm", column, postgresql_using="gin",
                   postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")
          for column in ("search_title", "search_description")),
    )

    @validates("title", "description")
    def _keep_search_text(self, key: str, value: str | None) -> str | None:
        # Only when the text really changes: the folded columns are deferred (never loaded),
        # so writing one unchanged would still count as a change, and an edit that changes
        # nothing would move the version on and make a concurrent edit a conflict.
        if not sa.inspect(self).persistent or getattr(self, key) != value:
            setattr(self, f"search_{key}", fold_for_search(value))
        return value

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and not self.is_completed
            and self.due_date < utcnow().date()
        )

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.title!r}>"


task_labels = sa.Table(
    "task_labels",
    db.metadata,
    sa.Column("task_id", sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("label_id", sa.ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
    # The primary key finds a page of tasks' labels; this index the tasks of a label (filter).
    sa.Index("ix_task_labels_label_id_task_id", "label_id", "task_id"),
)


class Label(db.Model):
    """A user's own label; a task of that user carries any number of them."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(32), nullable=False)  # as the user wrote it
    # The name folded to lower case: names are case-insensitive ("Work" is "work"). Folded in
    # Python, so both databases agree beyond ASCII (SQLite's lower() folds only ASCII).
    name_key: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    colour: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="blue")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    tasks: Mapped[list[Task]] = relationship(
        secondary="task_labels", back_populates="labels", passive_deletes=True
    )

    __table_args__ = (
        sa.Index("ix_labels_owner_id_name_key", "owner_id", "name_key", unique=True),
        # An admin's list filtered by a label name across every owner.
        sa.Index("ix_labels_name_key", "name_key"),
    )

    def __repr__(self) -> str:
        return f"<Label {self.id} {self.name!r}>"


class StatusChange(db.Model):
    """One step in a task's life: created, edited to another status, completed, reopened."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True, nullable=False
    )
    old_status: Mapped[str | None] = mapped_column(sa.String(16))
    new_status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    task: Mapped[Task] = relationship(back_populates="status_changes")
    changed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # Completions per day and the average time to complete (migration 0002).
        sa.Index("ix_status_changes_new_status_changed_at", "new_status", "changed_at"),
    )


SCOPE_READ = "read"
SCOPE_READ_WRITE = "read write"
TOKEN_SCOPES = (SCOPE_READ, SCOPE_READ_WRITE)


class ApiToken(db.Model):
    """A personal API token; only its hash and a short visible prefix are stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Space-separated scopes, as OAuth writes them: "read" or "read write".
    scope: Mapped[str] = mapped_column(sa.String(32), default=SCOPE_READ, nullable=False,
                                       server_default=SCOPE_READ)

    user: Mapped[User] = relationship()

    def allows(self, scope: str) -> bool:
        """Whether the token holds this scope ("read" or "write")."""
        return scope in self.scope.split()

    @property
    def can_write(self) -> bool:
        return self.allows("write")


class IdempotentRequest(db.Model):
    """A POST sent with an Idempotency-Key: the first answer, replayed for a retry.

    The unique (user_id, key) decides between two workers or instances receiving the same key
    at once: the second insert fails, and that request waits for or replays the first answer.
    `status` is None while the first request is still being handled.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        sa.Index("ix_idempotent_requests_user_id_key", "user_id", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    # SHA-256 of the method, path and canonical JSON body: the same key with another body
    # is a client's mistake, not a retry.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True, nullable=False)
    status: Mapped[int | None]
    body: Mapped[dict | None] = mapped_column(sa.JSON)
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id", ondelete="SET NULL"))


class AuditEvent(db.Model):
    """Who did what to which object, from where; also written as a JSON log line."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(64), index=True, nullable=False)
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    source_ip: Mapped[str | None] = mapped_column(sa.String(64))
    changes: Mapped[dict | None] = mapped_column(sa.JSON)

    actor: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A file on a task. The bytes live in the attachment storage (a folder or an S3 bucket)
    under `storage_key`, a random name that never comes from the client."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
    )
    # Whose quota the file counts against; kept (NULL) if that account is ever removed.
    uploader_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The client's name, neutralised (services.attachments.safe_filename): shown and offered
    # as the download name only.
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    # Detected from the content, never taken from the name or the client's claim.
    content_type: Mapped[str] = mapped_column(sa.String(127), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    # A small preview made by the server for raster images (PNG, JPEG, GIF, WebP) only.
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    task: Mapped[Task] = relationship(back_populates="attachments")
    uploader: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.text("size >= 0"), name="size"),
        # A task's files in upload order; a user's total for the quota.
        sa.Index("ix_attachments_task_id_created_at", "task_id", "created_at"),
        sa.Index("ix_attachments_uploader_id", "uploader_id"),
    )


class Comment(db.Model):
    """A comment on a task, shown in the task's timeline with its status changes."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Markdown as typed; rendered (and sanitised) only when shown.
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    # Set by each edit of the body; a comment with one is shown as edited.
    edited_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_comments_task_id_created_at", "task_id", "created_at"),
        sa.Index("ix_comments_author_id", "author_id"),
    )

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    @property
    def updated_at(self) -> datetime:
        """When the body last changed (its creation when never edited)."""
        return self.edited_at or self.created_at
