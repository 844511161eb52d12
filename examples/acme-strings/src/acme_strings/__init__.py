"""String helpers: the bottom of the example dependency chain."""


def shout(text: str) -> str:
    return text.upper() + "!"
