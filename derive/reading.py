"""Reading a file a user names: a regular file only, and never more than a limit, counted while
reading (a FIFO would block, /dev/zero would never end, and a size checked after reading is
checked too late)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class ReadError(OSError):
    """A file that cannot be read; the message is one line for the user (the caller adds the name)."""


def read_text(path: Path | str, limit: int) -> str:
    """The file's text (UTF-8), refusing anything that is not a regular file or has more than
    ``limit`` bytes."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ReadError(err.strerror or type(err).__name__) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReadError("not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise ReadError(f"larger than {limit} bytes")
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ReadError("not UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # a file saved on Windows reads as any other
