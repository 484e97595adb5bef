"""Attachments: files on tasks, their limits, and the rules for reading and changing them.

Pages and the JSON API call the same functions with plain values (file streams, ids) and get
plain objects back; every access rule, limit and validation is here:

- `upload_attachments(actor, task_id, files)`: all or nothing. Each file is streamed in
  chunks to the storage under a random key, its type detected from its first bytes, raster
  images get a thumbnail; the rows are inserted in one transaction that also checks the
  uploader's quota while holding a lock on their account, so concurrent uploads cannot
  together pass it. Any failure removes what this call stored and changes nothing.
- `open_attachment` / `open_thumbnail`: what a download needs (an opened object, its size,
  ETag, type to serve, name).
- `delete_attachment`; `stored_keys_of_tasks` + `remove_stored_files` for whoever deletes
  tasks; `collect_garbage` for `flask attachments gc`.

The stored key never comes from the client's name; the name is neutralised (`safe_filename`)
and only shown and offered as the download name.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

import magic
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Attachment, Task, User, utcnow
from . import audit
from . import tasks as task_service
from .errors import Invalid, NotFound, QuotaExceeded, StorageUnavailable, TooLarge
from .storage import CHUNK_SIZE, StorageError, StoredObject, get_storage, new_key
from .text import valid_id

log = logging.getLogger(__name__)

FILENAME_MAX_BYTES = 255
FALLBACK_FILENAME = "unnamed"
# How much of a file the type detection looks at.
HEAD_BYTES = 8192
# Previewed types (detected from the content), with the Pillow decoder allowed for each.
# SVG is never among them: it is a document that can carry script, not a picture.
RASTER_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
                  "image/webp": "WEBP"}
THUMBNAIL_MAX_SIDE = 400
THUMBNAIL_TYPE = "image/webp"
# Larger images are stored but not previewed: decoding them would cost too much memory.
THUMBNAIL_MAX_PIXELS = 16_000_000
# Types served as themselves; anything else (HTML, SVG, XML, scripts, unknown) is served as
# application/octet-stream, on top of `attachment`, `nosniff` and the sandbox CSP.
SERVED_AS_DETECTED = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
    "application/pdf", "text/plain", "text/csv", "application/json", "application/zip",
    "application/gzip", "application/x-tar", "application/x-7z-compressed",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
SERVED_AS_DETECTED_PREFIXES = (
    "audio/", "video/", "application/vnd.openxmlformats-officedocument.",
)
FALLBACK_TYPE = "application/octet-stream"

# Names Windows reserves for devices, with or without an extension.
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {f"lpt{n}" for n in range(10)}
)
WINDOWS_FORBIDDEN = set('<>:"|?*')


# --- Limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentLimits:
    """Per file, per request and per user, from ATTACHMENT_MAX_BYTES, ATTACHMENT_MAX_FILES
    and ATTACHMENT_QUOTA_BYTES."""

    max_bytes: int
    max_files: int
    quota_bytes: int

    @classmethod
    def from_config(cls, config) -> AttachmentLimits:
        return cls(int(config["ATTACHMENT_MAX_BYTES"]), int(config["ATTACHMENT_MAX_FILES"]),
                   int(config["ATTACHMENT_QUOTA_BYTES"]))

    @classmethod
    def current(cls) -> AttachmentLimits:
        return cls.from_config(current_app.config)

    def request_body_limit(self) -> int:
        """The most an upload request may send: every file at its largest, plus room for the
        multipart headers and the other form fields."""
        return self.max_bytes * self.max_files + 64 * 1024 * (self.max_files + 1)


def human_size(size: int) -> str:
    """1536 -> "1.5 KiB"; whole numbers without decimals ("10 MiB")."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}" if unit != "bytes" else f"{size} bytes"


# --- Names and types ---------------------------------------------------------------------


def safe_filename(name: str | None) -> str:
    """The client's file name made harmless to show and to offer as a download name.

    Only the last path component is kept (`../../x` -> `x`, `C:\\dir\\x` -> `x`); control,
    format (bidirectional overrides, zero-width) and unassigned characters and NUL are
    removed; characters Windows forbids become `_`; leading and trailing dots and spaces go;
    Windows device names (`CON`, `nul.txt`) get a leading `_`; at most 255 UTF-8 bytes,
    keeping the extension. An empty result becomes "unnamed".
    """
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(
        "_" if char in WINDOWS_FORBIDDEN else char
        for char in text
        if unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    )
    text = " ".join(text.split())  # any run of whitespace becomes one space
    text = text.strip(" .")
    if text.split(".", 1)[0].strip().lower() in WINDOWS_RESERVED:
        text = "_" + text
    if len(text.encode("utf-8")) > FILENAME_MAX_BYTES:
        stem, dot, extension = text.rpartition(".")
        if not dot or len(extension.encode("utf-8")) > 16:
            stem, extension = text, ""
        budget = FILENAME_MAX_BYTES - len(extension.encode("utf-8")) - (1 if extension else 0)
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
        text = f"{stem}.{extension}" if extension else stem
    return text or FALLBACK_FILENAME


def detect_type(head: bytes) -> str:
    """The MIME type of a file from its first bytes (libmagic), never from its name."""
    if not head:
        return FALLBACK_TYPE
    detected = magic.from_buffer(head, mime=True) or FALLBACK_TYPE
    # libmagic's own names for "nothing recognisable".
    if detected in {"application/x-empty", "inode/x-empty"} or "/" not in detected:
        return FALLBACK_TYPE
    return detected[:127]


def served_type(content_type: str) -> str:
    """The Content-Type a download is served with: the detected one for inert formats,
    application/octet-stream for anything a browser could run (HTML, SVG, XML...)."""
    if content_type in SERVED_AS_DETECTED or content_type.startswith(SERVED_AS_DETECTED_PREFIXES):
        return content_type
    return FALLBACK_TYPE


def is_previewable(content_type: str) -> bool:
    return content_type in RASTER_FORMATS


# --- Reading uploads ---------------------------------------------------------------------


@dataclass
class IncomingFile:
    """One uploaded file as the web layer or the API hands it over: the name the client
    gave (any string, neutralised here) and a stream to read it from, in chunks. Whatever
    type the client claimed is not used."""

    filename: str | None
    stream: BinaryIO


class MeteredReader(io.RawIOBase):
    """Reads an upload once, in chunks: counts and hashes it, and stops it the moment it
    passes a limit (TooLarge for the per-file size, QuotaExceeded for the quota left).

    The first bytes are read ahead for type detection; when `keep_copy` is set the bytes
    are also copied to a temporary file (in memory up to 1 MiB, then on disk) for the
    thumbnail, so the store is never read back."""

    def __init__(self, upload: IncomingFile, display_name: str, max_bytes: int,
                 quota_left: int, quota_error):
        super().__init__()
        self.source = upload.stream
        self.display_name = display_name
        self.max_bytes = max_bytes
        self.quota_left = quota_left
        self.quota_error = quota_error
        self.size = 0
        self.digest = hashlib.sha256()
        self.copy: tempfile.SpooledTemporaryFile | None = None
        self.head = self._read_source(HEAD_BYTES)
        self.pending = self.head

    def _read_source(self, size: int) -> bytes:
        data = self.source.read(size)
        if data is None:
            data = b""
        if isinstance(data, str):  # a text stream was handed over by mistake
            raise TypeError("uploads must be binary streams")
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge(
                f"“{self.display_name}” is larger than the limit of "
                f"{human_size(self.max_bytes)} per file. Nothing was saved.",
                self.max_bytes,
            )
        if self.size > self.quota_left:
            raise self.quota_error()
        self.digest.update(data)
        return data

    def keep_copy(self) -> None:
        self.copy = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115
        self.copy.write(self.head)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        if self.pending:
            data, self.pending = self.pending[:size], self.pending[size:]
            return data
        data = self._read_source(size)
        if self.copy is not None and data:
            self.copy.write(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()
        super().close()


def make_thumbnail(image_file: BinaryIO, content_type: str) -> bytes | None:
    """A WebP at most 400 px on its longest side, or None when the file does not decode as
    the raster format its content announced (or is too large to decode safely)."""
    from PIL import Image, ImageOps

    image_file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(image_file, formats=[RASTER_FORMATS[content_type]]) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > THUMBNAIL_MAX_PIXELS:
                    return None
                image.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
                image = ImageOps.exif_transpose(image).convert("RGBA")
                out = io.BytesIO()
                image.save(out, "WEBP", quality=80)
                return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError, MemoryError):
        return None


# --- Upload -------------------------------------------------------------------------------


@dataclass
class _Prepared:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    thumbnail_key: str | None = None


@dataclass
class _StoredKeys:
    """Everything this upload put into the store, removed again if the upload fails."""

    keys: list[str] = field(default_factory=list)

    def add(self) -> str:
        key = new_key()
        self.keys.append(key)
        return key


def used_bytes(user_id: int) -> int:
    """What a user's uploads take up (their quota's use), summed in SQL."""
    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Attachment.size), 0))
        .where(Attachment.uploader_id == user_id)
    ) or 0)


def _lock_uploader(user_id: int) -> None:
    """Hold the uploader's row until the transaction ends, so that two uploads by the same
    user check the quota one after the other. An UPDATE that changes nothing takes the row
    lock on PostgreSQL and the database's write lock on SQLite, where SELECT ... FOR UPDATE
    does not exist."""
    db.session.execute(
        sa.update(User).where(User.id == user_id).values(updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )


def _quota_error(limits: AttachmentLimits, user_id: int):
    def make() -> QuotaExceeded:
        used = used_bytes(user_id)
        return QuotaExceeded(
            f"These files would take you past your storage quota of "
            f"{human_size(limits.quota_bytes)} ({human_size(used)} used). Nothing was saved; "
            "delete some attachments first.", used, limits.quota_bytes,
        )
    return make


def upload_attachments(actor: User, task_id: int, files: Sequence[IncomingFile]) -> list[
        Attachment]:
    """Attach files to a task the actor may change; all are stored or none.

    Raises NotFound (no such task, or not visible to the actor), Invalid({"file": [...]})
    (no file, or more than ATTACHMENT_MAX_FILES), TooLarge (a file over ATTACHMENT_MAX_BYTES),
    QuotaExceeded (over the uploader's ATTACHMENT_QUOTA_BYTES), StorageUnavailable (the store
    failed). In every one of these cases nothing is stored and no row is written.
    """
    task = task_service.get_task_for(actor, task_id, "attach")
    task_id, actor_id = task.id, actor.id
    limits = AttachmentLimits.current()
    if len(files) > limits.max_files:
        raise Invalid({"file": [
            f"Send at most {limits.max_files} files at a time ({len(files)} were sent). "
            "Nothing was saved."
        ]})
    quota_left = limits.quota_bytes - used_bytes(actor_id)
    quota_error = _quota_error(limits, actor_id)
    # A slow upload must not keep a database connection (and its snapshot) busy.
    db.session.rollback()
    stored = _StoredKeys()
    readers: list[MeteredReader] = []
    try:
        prepared: list[_Prepared] = []
        for upload in files:
            name = safe_filename(upload.filename)
            reader = MeteredReader(upload, name, limits.max_bytes, quota_left, quota_error)
            readers.append(reader)
            if not reader.head and not (upload.filename or "").strip():
                continue  # a browser's empty file input: no name, no bytes
            prepared.append(_store_one(reader, name, stored))
            quota_left -= reader.size
        if not prepared:
            raise Invalid({"file": ["Choose at least one file."]})
        attachments = _insert_rows(actor_id, task_id, prepared, limits, quota_error)
    except BaseException:
        db.session.rollback()
        remove_stored_files(stored.keys)
        raise
    finally:
        for reader in readers:
            reader.close()
    return attachments


def _store_one(reader: MeteredReader, name: str, stored: _StoredKeys) -> _Prepared:
    """Stream one file into the store (and its thumbnail, for raster images)."""
    storage = get_storage()
    content_type = detect_type(reader.head)
    if is_previewable(content_type):
        reader.keep_copy()
    key = stored.add()
    try:
        storage.save(key, reader)
    except StorageError as error:
        log.warning("Attachment storage failed while saving: %s", error)
        raise StorageUnavailable() from error
    item = _Prepared(filename=name, content_type=content_type, size=reader.size,
                     sha256=reader.digest.hexdigest(), storage_key=key)
    if reader.copy is not None:
        thumbnail = make_thumbnail(reader.copy, content_type)
        if thumbnail is not None:
            item.thumbnail_key = stored.add()
            try:
                storage.save(item.thumbnail_key, io.BytesIO(thumbnail))
            except StorageError as error:
                log.warning("Attachment storage failed while saving a thumbnail: %s", error)
                raise StorageUnavailable() from error
    return item


def _insert_rows(actor_id: int, task_id: int, prepared: list[_Prepared],
                 limits: AttachmentLimits, quota_error) -> list[Attachment]:
    """One transaction: lock the uploader, check the quota with everything committed so
    far, insert the rows and their audit events."""
    _lock_uploader(actor_id)
    total = sum(item.size for item in prepared)
    if used_bytes(actor_id) + total > limits.quota_bytes:
        raise quota_error()
    actor = db.session.get(User, actor_id)
    if db.session.get(Task, task_id) is None:  # deleted while the files were being stored
        raise NotFound("task", task_id)
    attachments = []
    try:
        for item in prepared:
            attachment = Attachment(task_id=task_id, uploader_id=actor_id,
                                    created_at=utcnow(), **vars(item))
            db.session.add(attachment)
            audit.record(actor, "attachment.create", attachment, {
                "task_id": task_id, "filename": item.filename, "size": item.size,
                "content_type": item.content_type,
            })
            attachments.append(attachment)
        db.session.commit()
    except sa.exc.IntegrityError:
        # The task went away between the check above and the insert.
        raise NotFound("task", task_id) from None
    return attachments


# --- Reading -------------------------------------------------------------------------------


def attachments_of_task(task: Task) -> list[Attachment]:
    """The files of a task the caller has already read through `get_task_for`, oldest
    first, with their uploaders (one query)."""
    return list(db.session.scalars(
        sa.select(Attachment).where(Attachment.task_id == task.id)
        .options(joinedload(Attachment.uploader))
        .order_by(Attachment.created_at, Attachment.id)
    ))


def list_attachments(actor: User, task_id: int) -> list[Attachment]:
    """The files of a task the actor may see (NotFound otherwise)."""
    return attachments_of_task(task_service.get_task_for(actor, task_id))


def attachment_counts(task_ids: Iterable[int]) -> dict[int, int]:
    """{task id: number of files} for the given tasks (absent means none), in one query."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Attachment.task_id, sa.func.count())
        .where(Attachment.task_id.in_(ids)).group_by(Attachment.task_id)
    )
    return {task_id: count for task_id, count in rows}


def get_attachment_for(actor: User, task_id: int, attachment_id: int,
                       action: str = "view") -> Attachment:
    """The attachment, if it belongs to that task and the actor may do the action on the task
    ("view" to read, "attach" to delete); NotFound otherwise, whatever the reason."""
    task = task_service.get_task_for(actor, task_id, action)
    attachment = db.session.get(Attachment, attachment_id) if valid_id(attachment_id) else None
    if attachment is None or attachment.task_id != task.id:
        raise NotFound("attachment", attachment_id)
    return attachment


@dataclass
class Download:
    """What a response needs to send a stored file; `body` must be closed by the sender."""

    body: StoredObject
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    download_name: str | None  # None: shown inline (a thumbnail)


def _open(key: str) -> StoredObject:
    try:
        return get_storage().open(key)
    except StorageError as error:
        log.warning("Attachment storage failed while reading: %s", error)
        raise StorageUnavailable(
            "File storage is unavailable right now; try again in a moment."
        ) from error


def open_attachment(actor: User, task_id: int, attachment_id: int) -> Download:
    """The file of an attachment the actor may see, opened for sending as a download."""
    attachment = get_attachment_for(actor, task_id, attachment_id)
    body = _open(attachment.storage_key)
    return Download(
        body=body, size=body.size, etag=attachment.sha256,
        content_type=served_type(attachment.content_type),
        last_modified=attachment.created_at, download_name=attachment.filename,
    )


def open_thumbnail(actor: User, task_id: int, attachment_id: int) -> Download:
    """The preview image of an attachment the actor may see; NotFound when it has none."""
    attachment = get_attachment_for(actor, task_id, attachment_id)
    if attachment.thumbnail_key is None:
        raise NotFound("preview", attachment_id)
    body = _open(attachment.thumbnail_key)
    return Download(
        body=body, size=body.size, etag=f"{attachment.sha256[:32]}-thumbnail",
        content_type=THUMBNAIL_TYPE, last_modified=attachment.created_at, download_name=None,
    )


# --- Deleting -----------------------------------------------------------------------------


def delete_attachment(actor: User, task_id: int, attachment_id: int) -> Attachment:
    """Remove a file from a task the actor may change; returns the (detached) attachment.

    The row goes first (committed), then the stored objects: a failure of the store leaves
    an object no row refers to, which `flask attachments gc` removes, never a row without
    its file.
    """
    attachment = get_attachment_for(actor, task_id, attachment_id, "attach")
    keys = stored_keys(attachment)
    audit.record(actor, "attachment.delete", attachment, {
        "task_id": attachment.task_id, "filename": attachment.filename,
        "size": attachment.size,
    })
    db.session.delete(attachment)
    db.session.commit()
    remove_stored_files(keys)
    return attachment


def stored_keys(attachment: Attachment) -> list[str]:
    return [key for key in (attachment.storage_key, attachment.thumbnail_key) if key]


def stored_keys_of_tasks(task_ids: Iterable[int]) -> dict[int, list[str]]:
    """The storage keys (files and thumbnails) of every attachment of these tasks, per task;
    read them before the tasks are deleted, remove them with `remove_stored_files` after the
    commit (only for the tasks that were actually deleted)."""
    ids = list(task_ids)
    keys: dict[int, list[str]] = {}
    if not ids:
        return keys
    for task_id, key, thumbnail_key in db.session.execute(
        sa.select(Attachment.task_id, Attachment.storage_key, Attachment.thumbnail_key)
        .where(Attachment.task_id.in_(ids))
    ):
        keys.setdefault(task_id, []).append(key)
        if thumbnail_key:
            keys[task_id].append(thumbnail_key)
    return keys


def remove_stored_files(keys: Iterable[str]) -> list[str]:
    """Delete stored objects, best effort; returns the keys that could not be deleted (they
    are logged and left for `flask attachments gc`). Call it after the rows are gone."""
    failed = []
    keys = list(keys)
    if not keys:
        return failed
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as error:
            log.warning("Could not delete stored attachment %s (gc will): %s", key, error)
            failed.append(key)
    return failed


# --- Garbage collection ------------------------------------------------------------------


@dataclass
class GarbageReport:
    removed: list[tuple[str, int]] = field(default_factory=list)  # (key, size)
    failed: list[str] = field(default_factory=list)
    kept_recent: int = 0
    referenced: int = 0


def _referenced(keys: list[str]) -> set[str]:
    found = set(db.session.scalars(
        sa.select(Attachment.storage_key).where(Attachment.storage_key.in_(keys))
    ))
    found |= set(db.session.scalars(
        sa.select(Attachment.thumbnail_key).where(Attachment.thumbnail_key.in_(keys))
    ))
    return found


def collect_garbage(min_age: timedelta = timedelta(hours=1), dry_run: bool = False,
                    batch_size: int = 500) -> GarbageReport:
    """Remove stored objects no attachment row refers to (and unfinished local writes).

    Objects younger than `min_age` are kept: an upload in progress stores its files a moment
    before it inserts their rows. Raises StorageUnavailable when the store cannot be listed.
    """
    storage = get_storage()
    report = GarbageReport()
    cutoff = utcnow() - min_age
    try:
        batch = []
        for entry in storage.entries():
            batch.append(entry)
            if len(batch) >= batch_size:
                _collect_batch(storage, batch, cutoff, dry_run, report)
                batch = []
        if batch:
            _collect_batch(storage, batch, cutoff, dry_run, report)
    except StorageError as error:
        raise StorageUnavailable(f"Could not list the attachment storage: {error}") from error
    finally:
        db.session.rollback()
    return report


def _collect_batch(storage, batch, cutoff: datetime, dry_run: bool,
                   report: GarbageReport) -> None:
    referenced = _referenced([entry.key for entry in batch])
    for entry in batch:
        if entry.key in referenced:
            report.referenced += 1
        elif entry.modified_at > cutoff:
            report.kept_recent += 1
        elif dry_run:
            report.removed.append((entry.key, entry.size))
        else:
            try:
                storage.delete(entry.key)
            except StorageError as error:
                log.warning("gc could not delete %s: %s", entry.key, error)
                report.failed.append(entry.key)
            else:
                report.removed.append((entry.key, entry.size))
