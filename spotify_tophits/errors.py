"""User-facing errors, each carrying the exit code documented in the README (DESIGN §7)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes; scripts and systemd rely on these staying stable."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    TEMPORARY = 5
    DATA_SAFETY = 6


class TophitsError(Exception):
    """An error the user can act on: one line of message, one exit code, no traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(TophitsError):
    """The command line asked for something that does not make sense."""

    exit_code = ExitCode.USAGE


class ConfigError(TophitsError):
    """Configuration or credentials are missing or invalid."""

    exit_code = ExitCode.CONFIG


class AuthError(TophitsError):
    """No usable Spotify authorisation: the fix is `tophits auth`."""

    exit_code = ExitCode.AUTH


class ForbiddenError(AuthError):
    """Spotify answered 403: a token without the scope, or an account missing from the app's user list."""


class TemporaryError(TophitsError):
    """Network trouble, a 5xx, a rate limit, a source down or a held lock: retry later."""

    exit_code = ExitCode.TEMPORARY


class RateLimitedError(TemporaryError):
    """Spotify asked us to wait longer than we are willing to sleep inside one run."""


class LockHeldError(TemporaryError):
    """Another tophits run holds the run lock."""


class SourceError(TemporaryError):
    """A chart source could not be fetched or returned a payload that failed validation."""


class DataSafetyError(TophitsError):
    """Going on could lose data: corrupt state, unsafe archive, or a refused overwrite."""

    exit_code = ExitCode.DATA_SAFETY


class SpotifyRequestError(TophitsError):
    """Spotify refused a request for a reason that retrying will not fix (4xx other than 401/429)."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
