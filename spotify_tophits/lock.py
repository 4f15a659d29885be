"""The run lock: one `update` (or restore) at a time, and a second one learns at once who holds it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from spotify_tophits.errors import ConfigError, DataSafetyError, LockHeldError


def holder_pid(path: Path) -> int | None:
    """Return the pid written in the lock file, if any (the lock itself may or may not be held)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def is_running(pid: int) -> bool:
    """Return whether a process with this pid exists (one we may not signal still counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on path for the block; raise LockHeldError (exit 5) if another process has it.

    The kernel drops a flock when its process dies, so a run killed with SIGKILL never leaves a
    lock behind; the pid in the file is only there to tell the user who is running, and is
    cleared however the run ends (so doctor reports a pid only for a run that was killed). A
    symbolic link at path is refused: opening it would truncate whatever it points at.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        if path.is_symlink():
            raise DataSafetyError(
                f"the run lock {path} is a symbolic link (to {os.readlink(path)}); tophits does not follow it,"
                " because taking the lock would truncate the target: remove the link"
            ) from None
        raise ConfigError(
            f"cannot create the run lock {path} ({error.strerror}); set TOPHITS_STATE_DIR to a writable directory"
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder_pid(path)
            who = f"pid {pid}" if pid else "another process"
            raise LockHeldError(
                f"another tophits run ({who}) holds {path}; wait for it to finish and try again"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)
