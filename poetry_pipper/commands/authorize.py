from __future__ import annotations

from pathlib import Path

from cleo.helpers import argument, option

from .base import PipperCommand


class AuthorizeCommand(PipperCommand):
    name = "authorize"
    description = "Make expiring download links (SigV4 presigned URLs) for private packages and their private dependencies."
    arguments = [argument("packages", "NAME[:SPEC] or PEP 508 specs, e.g. foo, foo:1.2.*, 'foo>=1,<2'.", optional=True, multiple=True)]
    uses_repository = True
    chooses_files = True
    options = [
        option("input", "i", "Read specs from a pipper.json-style file, or from an earlier pre-authorized file or page.", flag=False),
        option("output", "o", "Write to FILE instead of printing the URLs (a pre-authorized JSON file by default).", flag=False),
        option("expires", "e", "How long the links work: 30s, 12mins, 3hr, '2 days'... A bare number is minutes; at most 7 days.",
               flag=False, default="1h"),
        option("format", None, "urls (the default without -o), json (the default with -o), find-links (an HTML page"
               " for pip) or requirements (direct references for pip and uv, which no index can override).", flag=False),
        option("pre", None, "Consider pre-releases."),
    ]
    help = """Resolves the packages and their private dependencies (one index GET per package) and
signs one download link per wheel with your AWS credentials. Whoever holds the links can
download exactly those wheels, with no AWS credentials, until they expire. Signing makes no
request, and the links are always SigV4 (X-Amz-Algorithm=AWS4-HMAC-SHA256).

Without -o the URLs are printed one per line and nothing else:

  pipper authorize foo -b s3://my-bucket/pypi -e 30m | xargs -n1 curl -sSfO

A pre-authorized file (JSON: name, version, url, sha256 and expiry of each package) for a
place without AWS credentials, e.g. a Docker build or a CI job:

  pipper authorize foo:1.2.* bar -b s3://my-bucket/pypi -e 2hr -o preauth.json
  pipper install -i preauth.json                # no -b, no credentials; sha256-verified
  pipper download -i preauth.json -d ./bundles

To renew an expired file or page, pass it to -i: its packages are resolved and signed again.

  pipper authorize -i preauth.json -b s3://my-bucket/pypi -o preauth.json

A requirements file for plain pip or uv (public dependencies come from your normal index):

  pipper authorize foo -b s3://my-bucket/pypi --format requirements -o private.txt
  pip install -r private.txt                    # or: uv pip install -r private.txt

Each private package is a direct reference (name @ URL#sha256=...): pip and uv take that
name from its URL only, so a public package with the same name and a higher version can
never replace it. Never commit the file, nor a lock made from it: the links are secrets.

A find-links page for plain pip:

  pipper authorize foo -b s3://my-bucket/pypi --format find-links -o links.html
  pip install --find-links links.html foo

pip and uv read the page and your index together and take the highest version of a name
from either: a public package with a private name and a higher version wins (the command
warns). Prefer --format requirements, or `pipper install -i`, which hands pip the private
wheels as files.

-e takes a whole number and a unit: s/sec/second, m/min/minute, h/hr/hour, d/day (plural
forms too), e.g. 18s, 12mins, 130m, 3hr, '2 days'; a bare number means minutes. The default
is 1 hour, the maximum 7 days. Links signed with temporary credentials (SSO, an assumed
role) stop working when those credentials expire, even if -e is longer.

Files are written atomically with mode 0600: the links are secrets until they expire.
A local directory repository cannot be authorized (file:// links neither expire nor work
elsewhere)."""

    def perform(self) -> int:
        from .. import authorize as core
        from ..display import safe
        from ..specs import parse_specs

        expires_in = core.parse_duration(self.option("expires"))
        output = self.option("output")
        fmt = core.output_format(self.option("format"), output)
        renewed = core.read_preauthorized(self.option("input")) if self.option("input") else None
        specs = parse_specs([*(self.argument("packages") or []), *renewed.requested] if renewed else self.requested())
        target = self.file_target()
        doc = core.authorize(self.repository(), specs, expires_in, target, pre=self.option("pre"),
                             allow_sdist=not self.option("only-binary"),
                             warn=lambda line: self.line_error(f"<comment>warning: {safe(line)}</comment>"))
        text = core.render(doc, fmt)
        if fmt == "find-links":
            self.line_error(f"<comment>{core.HIJACK_WARNING}</comment>")
        if any(core.uses_temporary_credentials(p.url) for p in doc.packages):
            self.line_error(
                "<comment>warning: signed with temporary credentials (a session token): the links stop working"
                f" when those credentials expire, possibly before {core.format_time(doc.expires)}</comment>"
            )
        if not output:
            self._write_links(text)
            return 0
        core.write_atomic(Path(output), text)
        self.line(
            f"Wrote {output} ({fmt}): {len(doc.packages)} package{'s' if len(doc.packages) != 1 else ''},"
            f" links expire at {core.format_time(doc.expires)} (in {core.describe_duration(expires_in)})"
        )
        for p in doc.packages:
            self.line(f"  {safe(p.name)} {p.version}")
        return 0

    def _write_links(self, text: str) -> None:
        """Print the links exactly as signed.

        A presigned URL must carry the access key id (X-Amz-Credential) and, for temporary
        credentials, the session token: the standalone CLI's output masks those values, which
        would break every link, so the links go straight to the underlying stream.
        """
        from cleo.io.outputs.output import Type as OutputType

        stream = getattr(self.io.output, "stream", None)
        if stream is None:
            self.io.write(text, type=OutputType.RAW)
            return
        stream.write(text)
        stream.flush()
