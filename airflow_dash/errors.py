"""Errors the CLI turns into one clear line and an exit code (no traceback unless --debug)."""

from __future__ import annotations


class AirflowDashError(Exception):
    """Base class: the message is one line, fit to show a user as is."""

    exit_code = 1


class UserError(AirflowDashError):
    """Bad input or configuration: unknown dashboard, invalid query, missing token, malformed YAML."""

    exit_code = 2


class OperationError(AirflowDashError):
    """A well-formed request that failed: Grafana refused a write, a conflict, a datasource error."""

    exit_code = 1


class Interrupted(AirflowDashError):
    """The user interrupted a run (Ctrl-C); what was and was not done has been reported."""

    exit_code = 130
