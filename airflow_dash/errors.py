"""Errors the CLI turns into one clear line and an exit code (no traceback unless --debug)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator


class AirflowDashError(Exception):
    """Base class: the message is one line, fit to show a user as is."""

    exit_code = 1


class UserError(AirflowDashError):
    """Bad input or configuration: unknown dashboard, invalid query, missing token, malformed YAML."""

    exit_code = 2


class OperationError(AirflowDashError):
    """A well-formed request that failed: Grafana refused a write, a conflict, a datasource error."""

    exit_code = 1


class DiffTrouble(OperationError):
    """`diff` could not compare (Grafana unreachable, an error answer): exit 2, as diff(1) does, since its
    exit 1 means "different"."""

    exit_code = 2


class Interrupted(AirflowDashError):
    """The user interrupted a run (Ctrl-C); what was and was not done has been reported."""

    exit_code = 130


@contextmanager
def writing(what: str, where: object) -> Iterator[None]:
    """Writing `what` to `where` (an output directory or file a user chose): an OSError there (not a directory,
    read-only, no space) becomes one UserError line naming both, exit 2, instead of a traceback."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {what} to {where}: {exc.strerror or exc}") from None


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def connection_cause(exc: BaseException) -> str:
    """The short human cause of a connection failure, e.g. "connection refused" (Grafana, Prometheus, InfluxDB)."""
    text = str(exc)
    match = _ERRNO_TEXT.search(text)
    if match:
        return match.group(1).strip().rstrip(".").lower()
    for hint in ("Connection refused", "Name or service not known", "No route to host", "Remote end closed",
                 "Connection reset", "Connection aborted", "certificate verify failed"):
        if hint.lower() in text.lower():
            return hint.lower()
    return type(exc).__name__
