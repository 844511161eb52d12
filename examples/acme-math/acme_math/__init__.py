"""Arithmetic that depends on acme-strings (a private dependency)."""

from acme_strings import shout


def add(a: int, b: int) -> str:
    return shout(f"{a} + {b} = {a + b}")
