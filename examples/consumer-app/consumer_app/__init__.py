"""Uses acme-greetings (private), which pulls acme-strings (private) from the same source."""

from acme_greetings import greet


def main() -> None:
    print(greet("world"))
