"""The one exception type every front door turns into a one-line message and exit 1."""

from __future__ import annotations


class PipperError(Exception):
    """A failure the user can act on.

    ``str(error)`` is the whole message: one line saying what failed, why, and what to do.
    Front doors print it as-is and exit with :attr:`exit_code`; they never show a
    traceback for it unless asked to with ``-v``.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class NotFound(PipperError):
    """A package, version or object does not exist."""


class AlreadyPublished(PipperError):
    """The version exists with different content (use ``--force``)."""


class IntegrityError(PipperError):
    """Downloaded or bundled bytes do not match the recorded sha256."""


class FormatError(PipperError):
    """A bundle, index or record is corrupt, foreign or from a newer format."""


class NewerFormatError(FormatError):
    """Written by a newer pipper: never rewritten (``reindex`` refuses it), only read by upgrading."""


class StorageError(PipperError):
    """The repository could not be reached or refused the request."""


class CredentialsError(StorageError):
    """No identity, an unknown profile, rejected or expired credentials, or AccessDenied.

    Front doors append which identity was used (``keys AKIA**** from -c/--credentials``), never a secret.
    """


class Cancelled(PipperError):
    """A transfer stopped because its source was cancelled (Ctrl-C in another thread)."""


class PreconditionFailed(Exception):
    """A conditional write lost: the object exists (If-None-Match) or changed (If-Match).

    Internal to the publish protocol; never shown to users as such.
    """
