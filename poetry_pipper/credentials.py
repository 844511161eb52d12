"""Which AWS identity to use, and where that choice came from.

A :class:`Credentials` is explicit keys, a named profile, or nothing (the boto3 chain).
``source`` says where it came from, for ``-v`` output; secrets never appear in ``repr`` or
``str``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def mask(key_id: str | None) -> str:
    """Show at most the first four characters of a key id."""
    if not key_id:
        return "-"
    return f"{key_id[:4]}{'*' * 4}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    source: str = "the AWS default chain"

    def __post_init__(self) -> None:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            from .errors import PipperError

            raise PipperError("incomplete credentials: both an access key id and a secret are needed")

    @property
    def cache_key(self) -> tuple[str | None, ...]:
        return (self.access_key_id, self.secret_access_key, self.session_token, self.profile)

    def describe(self) -> str:
        if self.access_key_id:
            return f"keys {mask(self.access_key_id)} from {self.source}"
        if self.profile:
            return f"profile {self.profile!r} from {self.source}"
        return self.source

    def __str__(self) -> str:
        return self.describe()


def from_environment() -> Credentials:
    """``PIPPER_AWS_*`` keys, then ``AWS_*`` keys, then the boto3 chain."""
    for prefix in ("PIPPER_AWS_", "AWS_"):
        key = os.environ.get(f"{prefix}ACCESS_KEY_ID")
        secret = os.environ.get(f"{prefix}SECRET_ACCESS_KEY")
        if key and secret:
            return Credentials(key, secret, os.environ.get(f"{prefix}SESSION_TOKEN") or None, source=f"${prefix}ACCESS_KEY_ID")
    return Credentials()
