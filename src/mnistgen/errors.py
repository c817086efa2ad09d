"""The one exception type users see: the CLI prints it as ``error: <message>``."""


class MnistgenError(Exception):
    """A user-facing failure (bad input, missing data, wrong checkpoint...).

    The message must fit on one line and say what to do about it.
    """
