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
    if not str(path) or str(path).endswith(("/", os.sep)):
        raise OutputError(f"cannot write {str(path)!r}: give a file name, not a folder")
    path = Path(path)
    try:
        if path.is_symlink():
            raise OutputError(f"cannot write {path}: it is a symbolic link (give the file it points to)")
        if path.is_dir():
            raise OutputError(f"cannot write {path}: it is a directory")
        if path.exists() and not path.is_file():
            raise OutputError(f"cannot write {path}: it is not a regular file")
    except OSError as err:
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
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
    except BaseException as err:  # an interrupt too: no .name.XXXX.tmp is left behind
        Path(temporary).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
        raise
    return path
