"""LEAKWATCH_OPTIONS as the shim reads it, where the command line must
agree with it: which signal a process dumps on."""
from . import constants


def signal_numbers():
    """{name: number} of the signals dump_signal takes (options.c's table)."""
    return dict(constants.DUMP_SIGNALS)


def default_dump_signal():
    return int(constants.OPTIONS_BY_NAME["dump_signal"].default)


def parse_signal_value(value):
    """The shim's reading of a dump_signal value: 0 (off), or a signal of
    the table by number or by name (with or without SIG); None when the
    shim would reject it."""
    table = signal_numbers()
    if value.isdigit() and value.isascii():
        number = int(value)
        if number == 0 or number in table.values():
            return number
        return None
    name = value[3:] if value.startswith("SIG") else value
    return table.get(name)


def dump_signal_from_options(text):
    """Apply LEAKWATCH_OPTIONS items in order, as the shim does: the last
    valid dump_signal wins, a bad one keeps what was there."""
    result = default_dump_signal()
    for item in text.split(":"):
        item = item.strip(" \t\n")
        key, eq, value = item.partition("=")
        if eq and key == "dump_signal":
            parsed = parse_signal_value(value)
            if parsed is not None:
                result = parsed
    return result


def option_names():
    return [o.name for o in constants.OPTIONS]
