"""Writing generated files: all or nothing (a temporary file renamed into place)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputError(OSError):
    """A file that cannot be written; the message is one line for the user."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path | str, text: str | bytes) -> Path:
    """Write ``text`` (or bytes: a PNG) to ``path`` so that a failure leaves no partial file behind."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise OutputError(f"cannot write {str(path)!r}: {getattr(err, 'strerror', None) or err}") from None
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; a written file gets the umask's mode
        binary = isinstance(text, bytes)
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    return path
