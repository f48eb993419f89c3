"""Errors a user can cause.

A :class:`UserError` ends the CLI with one line on stderr and exit status 2,
without a traceback (see :func:`harness.cli.main`). Everything else is a bug
and raises normally.
"""


class UserError(Exception):
    """A problem with the user's input: bad path, unknown name, malformed data, bad value."""

    exit_code = 2
