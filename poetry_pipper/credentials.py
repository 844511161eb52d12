"""Which AWS identity to use, and where that choice came from.

A :class:`Credentials` is explicit keys, a named profile, or nothing (the boto3 chain).
``source`` says where it came from, for ``-v`` output; secrets never appear in ``repr`` or
``str``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import PipperError


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


def from_environment_keys(env: Mapping[str, str]) -> Credentials | None:
    """``PIPPER_AWS_*`` keys, else ``AWS_*`` keys, else None."""
    for prefix in ("PIPPER_AWS_", "AWS_"):
        found = _env_keys(env, prefix)
        if found is not None:
            return found
    return None


def default_chain(env: Mapping[str, str]) -> Credentials:
    """Step 7: boto3 finds the identity (AWS_PROFILE, config files, SSO, container/instance roles)."""
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    source = "the AWS default chain" + (f" ($AWS_PROFILE={profile})" if profile else "")
    return Credentials(source=source)


def _env_keys(env: Mapping[str, str], prefix: str) -> Credentials | None:
    key = env.get(f"{prefix}ACCESS_KEY_ID") or None
    secret = env.get(f"{prefix}SECRET_ACCESS_KEY") or None
    if not key and not secret:
        return None
    if not key or not secret:
        present, missing = ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY") if key else ("SECRET_ACCESS_KEY", "ACCESS_KEY_ID")
        raise PipperError(
            f"incomplete credentials: ${prefix}{present} is set but ${prefix}{missing} is not; set both, or unset it"
        )
    token = _token(env.get(f"{prefix}SESSION_TOKEN"))
    return Credentials(key, secret, token, source=f"${prefix}ACCESS_KEY_ID")


def _token(value: str | None) -> str | None:
    """A TOKEN of ``0`` (or empty) means "no session token", as in the original pipper."""
    return None if not value or value == "0" else value


# -- -c/--credentials ---------------------------------------------------------------------

CREDENTIALS_USAGE = "-c/--credentials takes KEY SECRET [TOKEN] (or KEY:SECRET[:TOKEN]); a TOKEN of 0 means none"


def split_keys(values: Sequence[str]) -> list[str]:
    """The values of ``-c`` as ``[KEY, SECRET(, TOKEN)]``: the one-word ``KEY:SECRET[:TOKEN]`` form is split."""
    parts = [v for v in values if v is not None]
    if len(parts) == 1 and ":" in parts[0]:
        parts = parts[0].split(":", 2)
    return parts


def parse_keys(values: Sequence[str]) -> Credentials:
    """The values of ``-c``: ``[KEY, SECRET]``, ``[KEY, SECRET, TOKEN]`` or ``["KEY:SECRET[:TOKEN]"]``.

    Error messages never repeat a value.
    """
    parts = split_keys(values)
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise PipperError(f"{CREDENTIALS_USAGE}; got {len(parts)} value(s)")
    if any(_UNPRINTABLE.search(part) or len(part) > MAX_KEY for part in parts):
        raise PipperError(f"{CREDENTIALS_USAGE}; a value holds spaces or control characters, or is over {MAX_KEY}"
                          " characters long (values are not shown)")
    token = _token(parts[2]) if len(parts) == 3 else None
    return Credentials(parts[0], parts[1], token, source="-c/--credentials")


_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_.-]+$")
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f-\x9f]")
MAX_KEY = 16 * 1024
_FILE_SUFFIXES = (".pipper", ".whl", ".json", ".txt", ".toml", ".cfg", ".tar.gz", ".zip")


def looks_like_token(word: str) -> bool:
    """Whether the word after ``-c KEY SECRET`` is a session token rather than the next argument.

    ``0`` is (it means "no token"). Otherwise a token is long (AWS session tokens are hundreds of
    characters; anything under 64 is not taken), made of base64/JWT characters, and is neither an
    existing path nor a file name. Package specs (``foo``, ``foo:1.*``, ``foo>=1``) never qualify.
    """
    if word == "0":
        return True
    if len(word) < 64 or word.startswith(("-", ".", "~")) or not _TOKEN_CHARS.match(word):
        return False
    if word.lower().endswith(_FILE_SUFFIXES):
        return False
    try:
        return not os.path.exists(word)
    except (OSError, ValueError):
        return True


def expand_credentials_args(args: Sequence[str]) -> list[str]:
    """Rewrite ``-c KEY SECRET [TOKEN]`` into ``--credentials=KEY --credentials=SECRET [--credentials=TOKEN]``.

    cleo options take one value each; ``--credentials`` is a multi-valued option, so after this
    rewrite cleo collects ``[KEY, SECRET(, TOKEN)]`` and :func:`parse_keys` checks them.

    * ``-c``/``--credentials`` followed by separate words takes the next two words, and a third one
      only when :func:`looks_like_token` says it is a token (or ``0``).
    * ``-c KEY:SECRET[:TOKEN]`` (key ids never contain ``:``) takes one word.
    * The attached forms ``--credentials=VALUE`` and ``-cVALUE`` are one value each and are left as
      they are: they are the unambiguous spelling, and they make this function idempotent.
    * Nothing after ``--`` is touched. A word starting with ``-`` is never taken as a value.

    Apply it to a pipper command's own arguments (for ``pipper``: the whole argv; for
    ``poetry pipper CMD``: the words after the command name).
    """
    out: list[str] = []
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            out += words[i:]
            break
        if word not in ("-c", "--credentials"):
            out.append(word)
            i += 1
            continue
        taken: list[str] = []
        j = i + 1

        def available(k: int) -> bool:
            return k < len(words) and words[k] != "--" and not words[k].startswith("-")

        if available(j):
            taken.append(words[j])
            j += 1
            if ":" not in taken[0] and available(j):
                taken.append(words[j])
                j += 1
                if available(j) and looks_like_token(words[j]):
                    taken.append(words[j])
                    j += 1
        if not taken:
            out.append(word)  # cleo reports the missing value
        out += [f"--credentials={value}" for value in taken]
        i = j
    return out


def possible_tokens(args: Sequence[str]) -> list[str]:
    """Words right after ``-c KEY SECRET`` that :func:`looks_like_token` did not take (too short, say).

    Such a word is most likely the next argument (a package name), but it may be a short session
    token: it is redacted from every error line all the same, so that it is never echoed, neither as
    given nor normalized as a package name (lowercase).
    """
    found = []
    words = list(args)
    for i, word in enumerate(words):
        if word == "--":
            break
        if word not in ("-c", "--credentials"):
            continue
        key, secret, third = ([*words[i + 1 : i + 4], "", "", ""])[:3]
        if not key or ":" in key or key.startswith("-") or not secret or secret.startswith("-") or "--" in (key, secret):
            continue
        if third and not third.startswith("-") and not looks_like_token(third) and _TOKEN_CHARS.match(third):
            # As given, and as a package name would be shown (PEP 503 normalized).
            found += [third, third.lower(), re.sub(r"[-_.]+", "-", third).lower()]
    return list(dict.fromkeys(found))


def given_keys(args: Sequence[str]) -> list[str]:
    """The ``-c`` values in arguments rewritten by :func:`expand_credentials_args`, split by :func:`split_keys`.

    For redaction: anything that looks like a ``-c`` value counts, even after ``--``.
    """
    values = []
    for arg in args:
        if arg.startswith("--credentials="):
            values.append(arg[len("--credentials="):])
        elif arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            values.append(arg[2:])
    return split_keys(values)


# -- keeping secrets out of output ----------------------------------------------------------


#: Shorter values are not replaced (real key ids are 16+ characters, secrets 40): "0" or a
#: placeholder such as "testing" must not garble unrelated text.
MIN_REDACTED = 8


def redactions(
    *,
    env: Mapping[str, str] | None = None,
    credentials: Iterable[Credentials | None] = (),
    key_ids: Iterable[str | None] = (),
    secrets: Iterable[str | None] = (),
) -> dict[str, str]:
    """Value -> what to show instead: ``****`` for secrets and tokens, ``AKIA****`` for key ids.

    Covers the ``PIPPER_AWS_*``/``AWS_*`` variables of ``env`` (default ``os.environ``), the given
    credentials, and any other values the caller knows of (raw ``-c`` words, the config's secrets).
    """
    env = os.environ if env is None else env
    ids: list[str | None] = list(key_ids)
    hidden: list[str | None] = list(secrets)
    for prefix in ("PIPPER_AWS_", "AWS_"):
        ids.append(env.get(f"{prefix}ACCESS_KEY_ID"))
        hidden += [env.get(f"{prefix}SECRET_ACCESS_KEY"), env.get(f"{prefix}SESSION_TOKEN")]
    for cred in credentials:
        if cred is not None:
            ids.append(cred.access_key_id)
            hidden += [cred.secret_access_key, cred.session_token]
    table = {v: "****" for v in hidden if v and len(v) >= MIN_REDACTED}
    table.update({v: mask(v) for v in ids if v and len(v) >= MIN_REDACTED and v not in table})
    return table


def redact(text: str, table: Mapping[str, str]) -> str:
    """Replace every known value in ``text`` (longest first, so a token's tail cannot survive)."""
    for value in sorted(table, key=len, reverse=True):
        if len(value) >= MIN_REDACTED and value in text:
            text = text.replace(value, table[value])
    return text
