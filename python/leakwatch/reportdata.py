"""A saved report: loading FILE.json and reading its fields.

Every input is treated as hostile: no field is trusted to exist or to have
its type, so the accessors below return None (or []) for anything else, and
the renderers draw "?" where the shim would have had a value."""
import json
import sys

from .errors import EXIT_USAGE, fail


SCHEMA = "leakwatch-report/1"


def reject_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def load_report(path):
    shown = path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except OSError as e:
        fail(f"{shown}: cannot read ({e.strerror})", EXIT_USAGE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{shown}: not JSON (byte {e.start} is not UTF-8 text)", EXIT_USAGE)
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        fail(f"{shown}: not JSON (line {e.lineno}, column {e.colno}: {e.msg})", EXIT_USAGE)
    except RecursionError:
        fail(f"{shown}: not JSON we can read (nested too deeply)", EXIT_USAGE)
    except ValueError as e:
        fail(f"{shown}: not JSON ({e})", EXIT_USAGE)
    if not isinstance(data, dict):
        fail(f"{shown}: not a leakwatch report (the top level is {json_type(data)}, not an object)",
             EXIT_USAGE)
    if "schema" not in data:
        fail(f"{shown}: not a leakwatch report (no 'schema')", EXIT_USAGE)
    if data["schema"] != SCHEMA:
        fail(f"{shown}: not a leakwatch report (schema is {short_repr(data['schema'])}, "
             f"expected '{SCHEMA}')", EXIT_USAGE)
    for key in ("threads", "findings"):
        if key not in data:
            fail(f"{shown}: missing '{key}'", EXIT_USAGE)
        if not isinstance(data[key], list):
            fail(f"{shown}: '{key}' is {json_type(data[key])}, not a list", EXIT_USAGE)
    return data


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def short_repr(value):
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        text = json_type(value)
    return text if len(text) <= 60 else json_type(value)


# Defensive accessors: every field may be missing or of any JSON type.

def get_dict(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else None


def get_list(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def get_str(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def get_int(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def get_number(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def get_true(obj, key):
    return isinstance(obj, dict) and obj.get(key) is True


def address_text(value):
    """An address as the shim prints it (0x%lx): from "0x..." or a number."""
    if isinstance(value, bool):
        return "0x0"
    if isinstance(value, int):
        return "0x%x" % value if value >= 0 else "-0x%x" % -value
    if isinstance(value, str):
        return value
    return "0x?"


def address_is_set(value):
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value not in ("", "0x0", "0")
    if isinstance(value, (int, float)):
        return value != 0
    return True


class Report:
    """A loaded report with threads indexed by id."""

    def __init__(self, data):
        self.data = data
        self.threads = [t for t in get_list(data, "threads") if isinstance(t, dict)]
        self.findings = [f for f in get_list(data, "findings") if isinstance(f, dict)]
        self.by_id = {}
        for t in self.threads:
            tid = get_int(t, "id")
            if tid is not None and tid not in self.by_id:
                self.by_id[tid] = t

    def thread(self, thread_id):
        if isinstance(thread_id, bool) or not isinstance(thread_id, int):
            return None
        return self.by_id.get(thread_id)

    @property
    def pid_text(self):
        pid = get_int(self.data, "pid")
        return str(pid) if pid is not None else "?"

    @property
    def trigger(self):
        trigger = get_str(self.data, "trigger")
        return trigger if trigger is not None else "?"


def is_main_thread(t):
    return get_int(t, "id") == 0 or get_true(t, "main")


def is_adopted_thread(t):
    if get_true(t, "adopted"):
        return True
    return not is_main_thread(t) and get_int(t, "parent") is None


def is_control(ch):
    """C0, DEL, C1, and lone surrogates (from \\ud800 escapes): what a
    hostile report could use to move the cursor, clear the terminal or start
    a line that looks like a report's own."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def escape_controls(text):
    """Every control character as \\xNN (\\uNNNN for a surrogate), as the
    shim's text writer does (lw_buf_text in src/buf.c)."""
    if not any(is_control(ch) for ch in text):
        return text
    return "".join((f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
                   if is_control(ch) else ch for ch in text)
