"""Opening source files: existence checks and transparent gzip, with clear errors."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from sparkling_mnist.errors import InputDataError

GZIP_MAGIC = b"\x1f\x8b"


def read_source_bytes(path: str) -> bytes:
    """Read a whole source file, decompressing it when it is gzip (by its magic bytes).

    Raises:
        InputDataError: the file is missing, empty, unreadable, or a corrupt or
            truncated gzip stream.
    """
    file = Path(path)
    if not file.exists():
        raise InputDataError(f"{path}: file not found")
    if not file.is_file():
        raise InputDataError(f"{path}: not a regular file")
    data = file.read_bytes()
    if not data:
        raise InputDataError(f"{path}: file is empty")
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise InputDataError(f"{path}: truncated gzip stream ({len(data)} compressed bytes): {exc}") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise InputDataError(f"{path}: corrupt gzip stream: {exc}") from None
