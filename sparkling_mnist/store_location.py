"""Where a model store lives: a local directory, `file://`, `s3://bucket/prefix` or
`hdfs://namenode/path`, and the paths of a run and its models inside it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sparkling_mnist.errors import ConfigError

SCHEMES = ("file", "s3", "hdfs")
MANIFEST = "manifest.json"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URI. `root` has no trailing slash; local roots are absolute paths."""

    scheme: str
    root: str

    @classmethod
    def parse(cls, uri: str) -> StoreLocation:
        """Parse `uri` (a plain path is a local directory).

        Raises:
            ConfigError: an unknown scheme, or an s3/hdfs URI without bucket or host.
        """
        text = uri.strip()
        parsed = urlparse(text)
        if parsed.scheme in ("", "file") or re.match(r"^[A-Za-z]:[\\/]", text):
            path = parsed.path if parsed.scheme == "file" else text
            return cls("file", str(Path(path).expanduser().resolve()))
        if parsed.scheme == "s3a":
            raise ConfigError(f"store {uri!r}: use s3:// (H2O's own S3 client), not s3a://")
        if parsed.scheme not in SCHEMES:
            raise ConfigError(
                f"store {uri!r}: unknown scheme {parsed.scheme!r} (expected a path, file://, s3://, hdfs://)"
            )
        if not parsed.netloc:
            what = "bucket" if parsed.scheme == "s3" else "namenode host"
            raise ConfigError(
                f"store {uri!r}: no {what} (expected {parsed.scheme}://{what.rsplit(maxsplit=1)[-1]}/prefix)"
            )
        return cls(parsed.scheme, f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}")

    @property
    def needs_spark(self) -> bool:
        """Whether the store is read and written through Spark's JVM (HDFS: Hadoop's
        client); a local or S3 store needs no Spark session."""
        return self.scheme == "hdfs"

    @property
    def bucket(self) -> str:
        """The S3 bucket (s3 only)."""
        return urlparse(self.root).netloc

    def key(self, *parts: str) -> str:
        """The S3 key of a path inside the store (s3 only)."""
        prefix = urlparse(self.root).path.strip("/")
        return "/".join(p for p in (prefix, *parts) if p)

    def path(self, *parts: str) -> str:
        """The URI (or local path) of a path inside the store, as H2O and Hadoop take it."""
        return "/".join([self.root, *parts])

    def run(self, run_id: str) -> str:
        """The folder of one run."""
        return self.path(check_run_id(run_id))

    def manifest(self, run_id: str) -> str:
        """The manifest of one run."""
        return self.path(check_run_id(run_id), MANIFEST)


def check_run_id(run_id: str) -> str:
    """A run id is one path segment of letters, digits, `.`, `_`, `-`.

    Raises:
        ConfigError: anything else (slashes, spaces, `..`).
    """
    if not _RUN_ID.match(run_id) or run_id in (".", ".."):
        raise ConfigError(f"run id {run_id!r}: expected letters, digits, '.', '_' or '-' (one path segment)")
    return run_id
