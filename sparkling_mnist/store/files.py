"""Byte-level access to a store's files, one small class per kind of storage.

H2O writes and reads the model files itself (its persist layer speaks local paths,
`s3://` and `hdfs://`); the store reads them back here to size and checksum them, and
writes the manifest. Local files: pathlib. S3: boto3, with the endpoint, path-style
access and bounded retries with backoff from the config, and credentials from the
environment or the AWS chain (never from a config file). HDFS: Hadoop's FileSystem API
inside the Spark driver's JVM (the same client H2O uses).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sparkling_mnist.errors import StoreError
from sparkling_mnist.store_location import StoreLocation

log = logging.getLogger(__name__)

CHUNK = 1 << 20
T = TypeVar("T")

# S3 error codes worth another try (besides any 5xx answer): throttling and timeouts.
RETRYABLE_S3_CODES = frozenset(
    {"Throttling", "ThrottlingException", "SlowDown", "RequestTimeout", "RequestTimeoutException", "InternalError"}
)


class StoreFiles(Protocol):
    """What the store needs of a file system. Paths are full store paths (URIs)."""

    def read_bytes(self, path: str) -> bytes:
        """The whole file; StoreError naming the path when it cannot be read."""
        ...

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a whole file so that readers see the old file or the new one, never part."""
        ...

    def exists(self, path: str) -> bool:
        """Whether the file exists."""
        ...

    def list(self, folder: str) -> list[str]:
        """Full paths of the files under `folder`, recursively, sorted."""
        ...

    def delete(self, path: str) -> None:
        """Remove a file (no error when it is already gone)."""
        ...


def sha256_of(files: StoreFiles, path: str) -> tuple[int, str]:
    """Size in bytes and SHA-256 of a stored file."""
    data = files.read_bytes(path)
    return len(data), hashlib.sha256(data).hexdigest()


class LocalFiles:
    """A directory on this machine (or a shared mount every node sees)."""

    def read_bytes(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def write_bytes(self, path: str, data: bytes) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)

    def exists(self, path: str) -> bool:
        return Path(path).is_file()

    def list(self, folder: str) -> list[str]:
        root = Path(folder)
        if not root.is_dir():
            return []
        return sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))

    def delete(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)


class S3Files:
    """An S3 bucket (AWS or any S3-compatible endpoint) through boto3.

    Every request is tried up to `attempts` times: an answer of 5xx or a throttling
    code, a timeout or a dropped connection is retried after a wait of `backoff`
    seconds, doubled per retry up to `max_backoff` (each wait drawn between half and
    all of that, so clients that failed together do not retry together). botocore's
    own retries are off, so the bound is exactly `attempts` requests per call.
    """

    def __init__(
        self,
        location: StoreLocation,
        *,
        endpoint: str | None,
        path_style: bool,
        region: str,
        attempts: int,
        timeout: float,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self._location = location
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        config = Config(
            region_name=region,
            retries={"total_max_attempts": 1},  # retried here, with the store's bound and backoff
            connect_timeout=timeout,
            read_timeout=timeout,
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        self._client = boto3.client("s3", endpoint_url=endpoint, config=config)
        self._endpoint = endpoint or "AWS"

    def _key(self, path: str) -> str:
        prefix = f"s3://{self._location.bucket}/"
        if not path.startswith(prefix):
            raise StoreError(f"{path} is not in bucket {self._location.bucket}")
        return path[len(prefix) :]

    def _call(self, action: str, path: str, request: Callable[[], T]) -> T:
        """Run one request (its body read included) under the retry bound.

        Raises:
            StoreError: naming the path and the number of tries, with the last botocore
                error as its cause; at once for errors another try cannot fix (403, 404,
                a bad request).
        """
        for attempt in range(1, self._attempts + 1):
            try:
                return request()
            except Exception as exc:  # botocore raises ClientError, connection errors, timeouts...
                # botocore messages carry the operation and the error code, never the keys;
                # its own retry count is always 0 here (the retries are these).
                detail = str(exc).replace(" (reached max retries: 0)", "")
                if attempt == self._attempts or not is_retryable(exc):
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise StoreError(f"S3 ({self._endpoint}): cannot {action} {path}{tries}: {detail}") from exc
                wait = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
                wait = random.uniform(wait / 2, wait)
                log.warning(
                    "S3 (%s): %s %s failed (try %d of %d): %s; retrying in %.2f s",
                    self._endpoint,
                    action,
                    path,
                    attempt,
                    self._attempts,
                    detail,
                    wait,
                )
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def read_bytes(self, path: str) -> bytes:
        key = self._key(path)

        def request() -> bytes:
            body: bytes = self._client.get_object(Bucket=self._location.bucket, Key=key)["Body"].read()
            return body

        return self._call("read", path, request)

    def write_bytes(self, path: str, data: bytes) -> None:
        # A single PUT: S3 shows readers the whole object or nothing.
        key = self._key(path)
        self._call("write", path, lambda: self._client.put_object(Bucket=self._location.bucket, Key=key, Body=data))

    def exists(self, path: str) -> bool:
        key = self._key(path)
        try:
            self._call("check", path, lambda: self._client.head_object(Bucket=self._location.bucket, Key=key))
        except StoreError as exc:
            if isinstance(exc.__cause__, Exception) and _s3_error(exc.__cause__)[1] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, folder: str) -> list[str]:
        prefix = self._key(folder.rstrip("/") + "/")
        keys = self._call("list", folder, lambda: [item["Key"] for page in self._pages(prefix) for item in page])
        return sorted(f"s3://{self._location.bucket}/{key}" for key in keys)

    def _pages(self, prefix: str) -> Iterator[builtins.list[dict[str, Any]]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._location.bucket, Prefix=prefix):
            yield page.get("Contents", [])

    def delete(self, path: str) -> None:
        key = self._key(path)
        self._call("delete", path, lambda: self._client.delete_object(Bucket=self._location.bucket, Key=key))


def _s3_error(exc: Exception) -> tuple[int | None, str | None]:
    """The HTTP status and S3 error code of a botocore ClientError (None, None otherwise)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return (int(status) if status is not None else None), response.get("Error", {}).get("Code")


def is_retryable(exc: Exception) -> bool:
    """Whether another try of an S3 request may succeed: a 5xx answer or a throttling
    code, a timeout, a refused or dropped connection, a body cut off while read."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError, IncompleteReadError

    if isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError):
        return True
    status, code = _s3_error(exc)
    return (status is not None and status >= 500) or code in RETRYABLE_S3_CODES


class HadoopFiles:
    """Any Hadoop file system (hdfs://, file://) through the Spark driver's JVM.

    A write goes to a hidden temporary file beside the target, then is renamed over it
    in one step (FileContext's rename with OVERWRITE; on HDFS one namenode operation),
    so readers see the old file or the new one, never part; the temporary file is
    removed when the write fails.
    """

    def __init__(self, spark: Any) -> None:
        self._jvm = spark.sparkContext._jvm
        self._gateway = spark.sparkContext._gateway
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs_path(self, path: str) -> tuple[Any, Any]:
        hadoop_path = self._jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self._conf), hadoop_path

    def _hadoop(self, action: str, path: str, call: Callable[[], T]) -> T:
        """Run Hadoop calls; StoreError naming the path for any Java exception."""
        from py4j.protocol import Py4JJavaError

        try:
            return call()
        except Py4JJavaError as exc:
            raise StoreError(f"cannot {action} {path}: {exc.java_exception}") from exc

    def read_bytes(self, path: str) -> bytes:
        def read() -> bytes:
            fs, hadoop_path = self._fs_path(path)
            stream = fs.open(hadoop_path)
            try:
                return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
            finally:
                stream.close()

        return self._hadoop("read", path, read)

    def write_bytes(self, path: str, data: bytes) -> None:
        self._hadoop("write", path, lambda: self._write(path, data))

    def _write(self, path: str, data: bytes) -> None:
        from py4j.protocol import Py4JJavaError

        fs, target = self._fs_path(path)
        # Unique per write: two writers of one file never share a temporary file.
        tmp = self._jvm.org.apache.hadoop.fs.Path(target.getParent(), f".{target.getName()}.{uuid.uuid4().hex}.tmp")
        try:
            stream = fs.create(tmp, False)
            try:
                stream.write(bytearray(data))
            finally:
                stream.close()
            rename = getattr(self._jvm.org.apache.hadoop.fs, "Options$Rename")
            options = self._gateway.new_array(rename, 1)
            options[0] = rename.OVERWRITE
            context = self._jvm.org.apache.hadoop.fs.FileContext.getFileContext(fs.getUri(), self._conf)
            context.rename(tmp, target, options)
        except Py4JJavaError:
            try:
                fs.delete(tmp, False)
            except Py4JJavaError as cleanup:
                log.warning("store: temporary file %s left behind: %s", tmp.toString(), cleanup.java_exception)
            raise

    def exists(self, path: str) -> bool:
        def exists() -> bool:
            fs, hadoop_path = self._fs_path(path)
            return bool(fs.exists(hadoop_path)) and bool(fs.getFileStatus(hadoop_path).isFile())

        return self._hadoop("check", path, exists)

    def list(self, folder: str) -> list[str]:
        return self._hadoop("list", folder, lambda: self._list(folder))

    def _list(self, folder: str) -> builtins.list[str]:
        fs, hadoop_path = self._fs_path(folder)
        if not fs.exists(hadoop_path):
            return []
        # Hadoop gives back qualified paths (`file:/x` for `file:///x`): answer in the
        # caller's spelling, which the store cuts its run ids from.
        qualified = str(fs.makeQualified(hadoop_path).toString()).rstrip("/")
        found = fs.listFiles(hadoop_path, True)
        names = []
        while found.hasNext():
            name = str(found.next().getPath().toString())
            if not name.rsplit("/", 1)[-1].startswith("."):
                names.append(folder.rstrip("/") + name.removeprefix(qualified))
        return sorted(names)

    def delete(self, path: str) -> None:
        def delete() -> None:
            fs, hadoop_path = self._fs_path(path)
            fs.delete(hadoop_path, False)

        self._hadoop("delete", path, delete)
