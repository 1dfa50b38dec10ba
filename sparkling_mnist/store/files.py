"""Byte-level access to a store's files, one small class per kind of storage.

H2O writes and reads the model files itself (its persist layer speaks local paths,
`s3://` and `hdfs://`); the store reads them back here to size and checksum them, and
writes the manifest. Local files: pathlib. S3: boto3, with the endpoint, path-style
access and bounded retries from the config and credentials from the environment or the
AWS chain (never from a config file). HDFS: Hadoop's FileSystem API inside the Spark
driver's JVM (the same client H2O uses).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from sparkling_mnist.errors import StoreError
from sparkling_mnist.store_location import StoreLocation

log = logging.getLogger(__name__)

CHUNK = 1 << 20


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
    """An S3 bucket (AWS or any S3-compatible endpoint) through boto3."""

    def __init__(
        self,
        location: StoreLocation,
        *,
        endpoint: str | None,
        path_style: bool,
        region: str,
        attempts: int,
        timeout: float,
    ) -> None:
        import boto3
        from botocore.config import Config

        self._location = location
        config = Config(
            region_name=region,
            retries={"max_attempts": attempts, "mode": "standard"},
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

    def _fail(self, action: str, path: str, exc: Exception) -> StoreError:
        # botocore messages carry the operation and the error code, never the keys.
        return StoreError(f"S3 ({self._endpoint}): cannot {action} {path}: {exc}")

    def read_bytes(self, path: str) -> bytes:
        try:
            body: bytes = self._client.get_object(Bucket=self._location.bucket, Key=self._key(path))["Body"].read()
        except Exception as exc:  # botocore raises ClientError, EndpointConnectionError, timeouts...
            raise self._fail("read", path, exc) from exc
        return body

    def write_bytes(self, path: str, data: bytes) -> None:
        # A single PUT: S3 shows readers the whole object or nothing.
        try:
            self._client.put_object(Bucket=self._location.bucket, Key=self._key(path), Body=data)
        except Exception as exc:
            raise self._fail("write", path, exc) from exc

    def exists(self, path: str) -> bool:
        try:
            self._client.head_object(Bucket=self._location.bucket, Key=self._key(path))
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail("check", path, exc) from exc
        return True

    def list(self, folder: str) -> list[str]:
        prefix = self._key(folder.rstrip("/") + "/")
        names: list[str] = []
        try:
            for page in self._pages(prefix):
                names.extend(f"s3://{self._location.bucket}/{item['Key']}" for item in page.get("Contents", []))
        except Exception as exc:
            raise self._fail("list", folder, exc) from exc
        return sorted(names)

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self._location.bucket, Prefix=prefix)

    def delete(self, path: str) -> None:
        try:
            self._client.delete_object(Bucket=self._location.bucket, Key=self._key(path))
        except Exception as exc:
            raise self._fail("delete", path, exc) from exc


class HadoopFiles:
    """Any Hadoop file system (hdfs://, file://) through the Spark driver's JVM."""

    def __init__(self, spark: Any) -> None:
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs_path(self, path: str) -> tuple[Any, Any]:
        hadoop_path = self._jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self._conf), hadoop_path

    def read_bytes(self, path: str) -> bytes:
        from py4j.protocol import Py4JJavaError

        try:
            fs, hadoop_path = self._fs_path(path)
            stream = fs.open(hadoop_path)
            try:
                data: bytes = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
            finally:
                stream.close()
        except Py4JJavaError as exc:
            raise StoreError(f"cannot read {path}: {exc.java_exception}") from exc
        return bytes(data)

    def write_bytes(self, path: str, data: bytes) -> None:
        fs, hadoop_path = self._fs_path(path)
        tmp = self._jvm.org.apache.hadoop.fs.Path(hadoop_path.getParent(), f".{hadoop_path.getName()}.tmp")
        stream = fs.create(tmp, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()
        fs.delete(hadoop_path, False)
        if not fs.rename(tmp, hadoop_path):
            raise StoreError(f"cannot move {tmp} to {path}")

    def exists(self, path: str) -> bool:
        fs, hadoop_path = self._fs_path(path)
        return bool(fs.exists(hadoop_path)) and bool(fs.getFileStatus(hadoop_path).isFile())

    def list(self, folder: str) -> list[str]:
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
        fs, hadoop_path = self._fs_path(path)
        fs.delete(hadoop_path, False)
