"""The top of the example chain: acme-report -> acme-math -> acme-strings."""

from acme_math import add


def report() -> str:
    return f"report: {add(2, 3)}"
