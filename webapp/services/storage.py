"""Where attachment bytes live: one small interface, two implementations.

- `LocalStorage`: a folder (by default `instance/attachments`), never served by the web server.
- `S3Storage`: any S3-compatible store (AWS S3, MinIO, Ceph...) through boto3, chosen when
  `ATTACHMENTS_S3_BUCKET` is set.

Keys are random hex names made by the attachment service (`new_key()`); a storage refuses any
other key, so nothing a client sends can name a path or an object. Every failure of the
store itself (disk full, permission, S3 unreachable or refusing) is raised as `StorageError`;
any other exception raised by the stream being saved (such as a size limit) passes through
unchanged, after the partial object has been removed.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")
# A local object still being written: `<key>.part`, renamed into place once complete.
PART_SUFFIX = ".part"


class StorageError(Exception):
    """The store failed (disk full, unreachable, refused); the message is for the log."""


class ObjectMissing(StorageError):
    """No object is stored under the key."""


def new_key() -> str:
    """A fresh random key: 128 bits, never derived from anything the client sent."""
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    """Return the key when it has the shape `new_key()` makes; ValueError otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredEntry:
    """An object found in the store, for the garbage collector."""

    key: str
    size: int
    modified_at: datetime  # naive UTC


class StoredObject(Protocol):
    """An opened object: read in chunks by iteration, seekable (for Range requests)."""

    size: int  # its length in bytes, as the store reports it

    def __iter__(self) -> Iterator[bytes]: ...
    def __next__(self) -> bytes: ...
    def read(self, size: int = -1) -> bytes: ...
    def seekable(self) -> bool: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


class Storage(Protocol):
    """What the attachment service needs from a store."""

    name: str

    def save(self, key: str, stream: BinaryIO) -> None:
        """Store everything `stream.read()` gives under key, reading it in chunks."""

    def open(self, key: str) -> StoredObject:
        """Open the object for reading; ObjectMissing when there is none."""

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    def entries(self) -> Iterator[StoredEntry]:
        """Every object in the store (unfinished local writes included)."""


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    """Copy in chunks, so no file is ever held whole in memory."""
    while chunk := source.read(CHUNK_SIZE):
        target.write(chunk)


# --- A folder ---------------------------------------------------------------------------


class LocalFile:
    """A stored file opened for reading, as a chunk iterator that can seek."""

    def __init__(self, file: BinaryIO):
        self.file = file
        self.size = os.fstat(file.fileno()).st_size

    def __iter__(self) -> LocalFile:
        return self

    def __next__(self) -> bytes:
        chunk = self.file.read(CHUNK_SIZE)
        if not chunk:
            raise StopIteration
        return chunk

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


class LocalStorage:
    """Objects as files in a folder: `<root>/<first two characters of the key>/<key>`."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str, suffix: str = "") -> Path:
        key = check_key(key)
        return self.root / key[:2] / (key + suffix)

    def save(self, key: str, stream: BinaryIO) -> None:
        final = self._path(key)
        part = self._path(key, PART_SUFFIX)
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            # "x": never overwrite; the key is new, so an existing file would be a bug.
            with open(part, "xb") as target:
                copy_stream(stream, target)
                target.flush()
                os.fsync(target.fileno())
            os.replace(part, final)
        except BaseException as error:
            part.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise StorageError(f"could not write {final}: {error}") from error
            raise

    def open(self, key: str) -> LocalFile:
        path = self._path(key)
        try:
            return LocalFile(open(path, "rb"))  # noqa: SIM115 (closed by whoever reads it)
        except FileNotFoundError as error:
            raise ObjectMissing(f"no file {path}") from error
        except OSError as error:
            raise StorageError(f"could not read {path}: {error}") from error

    def delete(self, key: str) -> None:
        name = key.removesuffix(PART_SUFFIX)
        path = self._path(name, PART_SUFFIX if key.endswith(PART_SUFFIX) else "")
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"could not delete {path}: {error}") from error

    def entries(self) -> Iterator[StoredEntry]:
        if not self.root.is_dir():
            return
        try:
            for folder in sorted(self.root.iterdir()):
                if not (folder.is_dir() and re.fullmatch(r"[0-9a-f]{2}", folder.name)):
                    continue
                for path in sorted(folder.iterdir()):
                    name = path.name.removesuffix(PART_SUFFIX)
                    if not KEY_PATTERN.fullmatch(name) or name[:2] != folder.name:
                        continue  # not ours: never touched
                    stat = path.stat()
                    yield StoredEntry(
                        path.name, stat.st_size,
                        datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
                    )
        except OSError as error:
            raise StorageError(f"could not list {self.root}: {error}") from error


# --- S3 and compatible stores -----------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: str = "auto"
    connect_timeout: float = 3
    read_timeout: float = 30
    max_attempts: int = 3


class S3Object:
    """An S3 object opened for reading. The GET is made when opening (so an unreachable
    store is an error before the response starts); a seek before the first read re-opens
    the object from that offset with a Range request."""

    def __init__(self, storage: S3Storage, key: str):
        self.storage = storage
        self.key = key
        self.position = 0
        response = self._get(0)
        self.body = response["Body"]
        self.size = int(response["ContentLength"])
        self.chunks: Iterator[bytes] | None = None

    def _get(self, start: int) -> dict:
        kwargs = {"Range": f"bytes={start}-"} if start else {}
        try:
            return self.storage.client.get_object(
                Bucket=self.storage.settings.bucket, Key=self.storage.object_name(self.key),
                **kwargs,
            )
        except self.storage.errors as error:
            if _s3_code(error) in {"NoSuchKey", "404"}:
                raise ObjectMissing(f"no object {self.key}") from error
            raise StorageError(f"could not read {self.key}: {error}") from error

    def __iter__(self) -> S3Object:
        return self

    def __next__(self) -> bytes:
        if self.chunks is None:
            self.chunks = self.body.iter_chunks(CHUNK_SIZE)
        try:
            chunk = next(self.chunks)
        except self.storage.errors as error:
            raise StorageError(f"could not read {self.key}: {error}") from error
        self.position += len(chunk)
        return chunk

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.body.read(None if size < 0 else size)
        except self.storage.errors as error:
            raise StorageError(f"could not read {self.key}: {error}") from error
        self.position += len(data)
        return data

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise OSError("S3 objects seek from the start only")
        if offset != self.position:
            if self.chunks is not None:
                raise OSError("cannot seek once reading has begun")
            self.body.close()
            self.body = self._get(offset)["Body"]
            self.position = offset
        return self.position

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        self.body.close()


def _s3_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Objects in an S3 bucket under `prefix + key`."""

    name = "s3"

    def __init__(self, settings: S3Settings):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import BotoCoreError, ClientError

        self.settings = settings
        self.errors = (BotoCoreError, ClientError, OSError)
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            region_name=settings.region or None,
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            config=BotoConfig(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries={"max_attempts": settings.max_attempts, "mode": "standard"},
                s3={"addressing_style": settings.addressing_style},
                # Checksums only where S3 requires them: several S3-compatible stores refuse
                # the newer default trailing checksums.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        # Parts are read from the staged file as they are sent, one thread per upload.
        self.transfer_config = TransferConfig(use_threads=False)

    def object_name(self, key: str) -> str:
        return self.settings.prefix + check_key(key)

    def save(self, key: str, stream: BinaryIO) -> None:
        # Staged on local disk first (in chunks), so that a size limit is met before anything
        # is sent, and boto3 streams the upload from a file of known size.
        name = self.object_name(key)
        with tempfile.NamedTemporaryFile(prefix="taskdeck-upload-") as staged:
            try:
                copy_stream(stream, staged)
                staged.flush()
            except OSError as error:
                raise StorageError(f"could not stage {key}: {error}") from error
            try:
                self.client.upload_file(
                    staged.name, self.settings.bucket, name, Config=self.transfer_config
                )
            except self.errors as error:
                self._delete_quietly(key)
                raise StorageError(f"could not upload {key}: {error}") from error

    def _delete_quietly(self, key: str) -> None:
        try:
            self.delete(key)
        except StorageError:
            log.warning("Could not remove the partial upload %s (gc will)", key)

    def open(self, key: str) -> S3Object:
        return S3Object(self, key)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.settings.bucket, Key=self.object_name(key))
        except self.errors as error:
            raise StorageError(f"could not delete {key}: {error}") from error

    def entries(self) -> Iterator[StoredEntry]:
        prefix = self.settings.prefix
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(prefix):]
                    if not KEY_PATTERN.fullmatch(key):
                        continue  # someone else's object sharing the bucket: never touched
                    modified = item["LastModified"].astimezone(UTC).replace(tzinfo=None)
                    yield StoredEntry(key, int(item["Size"]), modified)
        except self.errors as error:
            raise StorageError(f"could not list the bucket: {error}") from error


# --- The app's storage ---------------------------------------------------------------------

EXTENSION_KEY = "taskdeck.attachment_storage"


def storage_from_config(config, instance_path: str) -> Storage:
    """S3 when ATTACHMENTS_S3_BUCKET is set, otherwise the local folder."""
    bucket = (config.get("ATTACHMENTS_S3_BUCKET") or "").strip()
    if bucket:
        endpoint = config.get("ATTACHMENTS_S3_ENDPOINT_URL") or None
        return S3Storage(S3Settings(
            bucket=bucket,
            prefix=config.get("ATTACHMENTS_S3_PREFIX") or "",
            endpoint_url=endpoint,
            region=config.get("ATTACHMENTS_S3_REGION") or None,
            access_key_id=config.get("ATTACHMENTS_S3_ACCESS_KEY_ID") or None,
            secret_access_key=config.get("ATTACHMENTS_S3_SECRET_ACCESS_KEY") or None,
            # S3-compatible servers on their own host name usually want path-style URLs.
            addressing_style=config.get("ATTACHMENTS_S3_ADDRESSING_STYLE")
            or ("path" if endpoint else "auto"),
            connect_timeout=float(config.get("ATTACHMENTS_S3_CONNECT_TIMEOUT", 3)),
            read_timeout=float(config.get("ATTACHMENTS_S3_READ_TIMEOUT", 30)),
            max_attempts=int(config.get("ATTACHMENTS_S3_MAX_ATTEMPTS", 3)),
        ))
    folder = config.get("ATTACHMENTS_DIR") or os.path.join(instance_path, "attachments")
    return LocalStorage(folder)


def get_storage() -> Storage:
    """The current app's attachment storage, made once from its configuration."""
    storage = current_app.extensions.get(EXTENSION_KEY)
    if storage is None:
        storage = storage_from_config(current_app.config, current_app.instance_path)
        current_app.extensions[EXTENSION_KEY] = storage
    return storage
