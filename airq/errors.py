"""The one error type of the command line: its message says how to fix the problem."""


class CliError(Exception):
    """Printed without a traceback (unless --verbose); exit status 2."""
