"""A private library that itself depends on a private package (acme-strings)."""

from acme_strings import shout


def greet(name: str) -> str:
    return shout(f"hello {name}")
