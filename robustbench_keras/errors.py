"""User mistakes: errors the CLI prints as one line instead of a traceback.

Any other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A mistake in what the user asked for; `exit_code` is the CLI's exit status.

    The message is kept to one line: line breaks inside it (a hostile file's names, say) become spaces.
    """

    exit_code = 1

    def __init__(self, message):
        super().__init__(" ".join(str(message).splitlines()))


class SuiteError(UserError):
    """A suite file or command-line argument is invalid (exit 2, as argparse)."""

    exit_code = 2


class DataError(UserError):
    """Data cannot be found, fetched or parsed."""


class ModelError(UserError):
    """A model is unknown, unsafe or does not fit the suite's data."""


class LeaderboardError(UserError):
    """A leaderboard file is corrupt, invalid, or an entry operation is refused."""


class OutputError(UserError):
    """An output file cannot be written: a full disk or quota, a read-only filesystem, no permission."""
