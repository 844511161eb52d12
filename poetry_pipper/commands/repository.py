from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand, credentials_options

if TYPE_CHECKING:
    from ..config import Config, RepositoryConfig
    from ..credentials import Credentials

ACTIONS = ("add", "modify", "remove", "list", "exists", "import")


class RepositoryCommand(PipperCommand):
    name = "repository"
    description = "Manage named repositories: add, modify, remove, list, exists, import."
    arguments = [
        argument("action", f"One of: {', '.join(ACTIONS)}."),
        argument("name", "The repository name (not for list; for import: only that one).", optional=True),
    ]
    options = [
        option("bucket", "b", "Where it is: a bucket name (prefix 'pipper'), s3://bucket[/prefix], file:///dir or a directory.",
               flag=False),
        option("profile", "p", "Store this AWS profile as its identity (replaces stored keys).", flag=False),
        *credentials_options(),
        option("default", "d", "Make it the default repository (used when neither -b nor -r is given)."),
        option("endpoint-url", None, "S3 endpoint for S3-compatible servers ('' clears it).", flag=False),
        option("region", None, "AWS region of the bucket ('' clears it).", flag=False),
    ]
    json_output = "list, import: print JSON (secrets masked)."
    help = """Named repositories live in the user config file ($PIPPER_CONFIG_DIR, else
$XDG_CONFIG_HOME/poetry-pipper, else ~/.config/poetry-pipper), written with mode 0600.
A named repository supplies the location and, if stored, the credentials:
`pipper install foo -r team` needs no other flag.

  pipper repository add team -b s3://my-bucket/pypi -p team-profile -d
  pipper repository add ci -b s3://my-bucket/pypi -c KEY SECRET
  pipper repository modify team --region eu-west-1
  pipper repository list --json
  pipper repository exists team && echo configured
  pipper repository remove team
  pipper repository import          # copy the original pipper's ~/.pipper/repositories.json

modify changes only the flags given: -p replaces stored keys, -c replaces a stored profile,
and an empty value (--region '') clears a field. Secrets are never printed: list shows the
first four characters of a key id and **** for secrets.

import copies the repositories of the original pipper 0.x (~/.pipper/repositories.json: bucket
and root_prefix become s3://bucket/root_prefix) into the config file, written with mode 0600.
A name that already exists with other settings is kept as it is and reported. pipper 0.x wrote
its file readable by every user: import makes it 0600 too (pipper 0.x still reads it)."""

    def perform(self) -> int:
        action = self.argument("action")
        if action not in ACTIONS:
            raise PipperError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)} (e.g. `pipper repository list`)")
        name = self.argument("name")
        if action == "import":
            if self._settings_given() or self.option("default"):
                raise PipperError("`pipper repository import` takes only an optional NAME and --json")
            return self._import(name)
        if action == "list":
            if name:
                raise PipperError("`pipper repository list` takes no NAME")
            return self._list()
        if not name:
            raise PipperError(f"`pipper repository {action}` needs a NAME")
        if action in ("exists", "remove") and (self._settings_given() or self.option("default")):
            raise PipperError(f"`pipper repository {action}` takes only NAME (the other flags are for add and modify)")
        if action == "exists":
            return self._exists(name)
        if action == "remove":
            return self._remove(name)
        return self._add(name) if action == "add" else self._modify(name)

    # -- actions -------------------------------------------------------------------------

    def _exists(self, name: str) -> int:
        config = self.user_config()
        repo = config.repositories.get(name)
        if repo is None:
            self.line(f"repository {name!r} does not exist")
            return 1
        self.line(f"repository {name!r} exists: {repo.bucket}" + (" (default)" if config.default == name else ""))
        return 0

    def _add(self, name: str) -> int:
        from ..config import RepositoryConfig, check_name, edit

        check_name(name)
        bucket = self.option("bucket")
        if not bucket:
            raise PipperError(f"`pipper repository add {name}` needs -b/--bucket (s3://bucket/prefix, a bucket name or a directory)")
        if self._given("profile") and self.option("credentials"):
            raise PipperError("pass either -p/--profile or -c/--credentials, not both")
        keys = self._keys()
        repo = RepositoryConfig(
            name=name,
            bucket=self._canonical(bucket),
            endpoint_url=self.option("endpoint-url") or None,
            region=self.option("region") or None,
            profile=self.option("profile") or None,
            access_key_id=keys.access_key_id if keys else None,
            secret_access_key=keys.secret_access_key if keys else None,
            session_token=keys.session_token if keys else None,
        ).check()
        with edit() as config:
            self._config = config
            if name in config.repositories:
                raise PipperError(
                    f"repository {name!r} already exists ({config.repositories[name].bucket}):"
                    f" change it with `pipper repository modify {name} ...`, or remove it first"
                )
            migrated = self._note_legacy(config)
            config.repositories[name] = repo
            if self.option("default"):
                config.default = name
        self._done("Added", repo, config, migrated)
        return 0

    def _modify(self, name: str) -> int:
        from dataclasses import replace

        from ..config import edit

        if self._given("profile") and self.option("credentials"):
            raise PipperError("pass either -p/--profile or -c/--credentials, not both")
        keys = self._keys()
        bucket = self.option("bucket")
        if bucket == "":
            raise PipperError("-b/--bucket cannot be cleared: a repository needs a location")
        bucket = self._canonical(bucket) if bucket else None
        if not self._settings_given() and not self.option("default"):
            raise PipperError(
                f"nothing to change: pass -b, -p, -c, -d, --endpoint-url or --region to `pipper repository modify {name}`"
            )
        with edit() as config:
            self._config = config
            repo = config.get(name)
            changes: dict[str, str | None] = {}
            if bucket:
                changes["bucket"] = bucket
            for key in ("endpoint-url", "region"):
                if self._given(key):
                    changes[key.replace("-", "_")] = self.option(key) or None
            if self._given("profile"):
                changes.update(profile=self.option("profile") or None,
                               access_key_id=None, secret_access_key=None, session_token=None)
            if keys is not None:
                changes.update(profile=None, access_key_id=keys.access_key_id,
                               secret_access_key=keys.secret_access_key, session_token=keys.session_token)
            repo = replace(repo, **changes).check()  # type: ignore[arg-type]
            migrated = self._note_legacy(config)
            config.repositories[name] = repo
            if self.option("default"):
                config.default = name
        self._done("Modified", repo, config, migrated)
        return 0

    def _remove(self, name: str) -> int:
        from ..config import edit

        with edit() as config:
            self._config = config
            config.get(name)
            migrated = self._note_legacy(config)
            del config.repositories[name]
            was_default = config.default == name
            if was_default:
                config.default = None
        self.line(f"Removed repository {name!r}" + (" (it was the default; there is no default now)" if was_default else ""))
        if migrated:
            self.line_error(migrated)
        return 0

    def _list(self) -> int:
        config = self.user_config()
        entries = [repo.public(default=name == config.default) for name, repo in sorted(config.repositories.items())]
        if self.as_json():
            self.emit({"config": str(config.path), "legacy": config.legacy, "default": config.default,
                       "repositories": entries})
            return 0
        if not entries:
            self.line(f"no repositories configured ({config.path}): add one with `pipper repository add NAME -b s3://bucket/prefix`")
            return 0
        width = max(len(e["name"]) for e in entries)
        for name, repo in sorted(config.repositories.items()):
            mark = "*" if name == config.default else " "
            extra = "".join(f"  {label} {value}" for label, value in
                            (("endpoint", repo.endpoint_url), ("region", repo.region)) if value)
            self.line(f"{mark} {name:<{width}}  {repo.bucket}  {repo.describe_identity()}{extra}")
        source = f"{config.path} (read from the original pipper's file; the next change saves here)" \
            if config.legacy else str(config.path)
        self.line(f"(* = default; config: {source})")
        return 0

    def _import(self, only: str | None) -> int:
        from ..config import import_legacy

        loaded: list[Config] = []
        try:
            result = import_legacy(only, loaded=loaded)
        finally:
            self._config = loaded[-1] if loaded else self._config  # its secrets are redacted from any error
        config = result.config
        if result.warning:
            self.line_error(f"<comment>warning: {result.warning}</comment>")
        lines = []
        for name in result.imported:
            repo = config.repositories[name]
            default = " (default)" if config.default == name else ""
            lines.append(f"Imported repository {name!r}{default}: {repo.bucket}, {repo.describe_identity()}")
        lines += [f"Repository {name!r} is already configured the same way" for name in result.unchanged]
        lines += [f"<comment>Kept repository {name!r} as configured here ({config.repositories[name].bucket}): the"
                  f" pipper 0.x one differs; `pipper repository remove {name}` then import to take it</comment>"
                  for name in result.kept]
        if result.left:
            lines.append(f"Not imported from {result.source}: {', '.join(result.left)}"
                         " (`pipper repository import NAME` takes one)")
        lines.append(f"Config: {config.path} (mode 0600)")
        if result.permissions_fixed:
            lines.append(f"Made {result.source} private ({result.permissions_fixed}): it holds credentials;"
                         " pipper 0.x still reads it")
        self.emit(result.to_json(), lines)
        return 0

    # -- helpers -------------------------------------------------------------------------

    def _given(self, name: str) -> bool:
        return self.option(name) is not None

    def _settings_given(self) -> bool:
        return bool(self.option("credentials")) or any(
            self._given(o) for o in ("bucket", "profile", "endpoint-url", "region")
        )

    def _keys(self) -> Credentials | None:
        from ..credentials import parse_keys

        values = self.option("credentials")
        return parse_keys(values) if values else None

    @staticmethod
    def _canonical(bucket: str) -> str:
        """Validate -b and store its canonical URL (a relative directory becomes absolute)."""
        from ..location import parse_location

        return parse_location(bucket).url

    def _note_legacy(self, config: Config) -> str | None:
        if not config.legacy:
            return None
        from ..config import legacy_path

        return (f"note: copied {len(config.repositories)} repositories from {legacy_path()} into {config.path};"
                " the old file is left as it was")

    def _done(self, verb: str, repo: RepositoryConfig, config: Config, migrated: str | None) -> None:
        default = " (default)" if config.default == repo.name else ""
        self.line(f"{verb} repository {repo.name!r}{default}: {repo.bucket}, {repo.describe_identity()}")
        if migrated:
            self.line_error(migrated)
