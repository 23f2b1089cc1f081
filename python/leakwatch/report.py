"""leakwatch report: render a saved JSON report as text, JSON, a Graphviz
graph or SARIF."""
import json
import re
import sys

from .errors import EXIT_USAGE, fail
from .reportdata import Report, load_report


# json.dumps escapes C0 but leaves DEL and C1 raw with ensure_ascii=False;
# outside strings it writes only ASCII, so these can only be inside one.
RAW_JSON_CONTROLS = re.compile("[\x7f-\x9f]")


def json_bytes(data):
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False)
        text = RAW_JSON_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800 escapes
        return json.dumps(data, indent=2, ensure_ascii=True).encode("utf-8")


def render_json(report):
    return json_bytes(report.data)


def command_report(args):
    report = Report(load_report(args.file))
    if args.srcroot is not None and args.format != "sarif":
        fail("--srcroot goes with --format sarif", EXIT_USAGE)
    if args.format in ("json", "sarif"):
        try:
            if args.format == "json":
                text = render_json(report)
            else:
                from .sarif import sarif_log
                text = json_bytes(sarif_log(report, srcroot=args.srcroot))
        except (ValueError, RecursionError) as e:
            fail(f"{args.file}: cannot re-emit ({e})", EXIT_USAGE)
        sys.stdout.buffer.write(text + b"\n")
    else:
        if args.format == "text":
            from .render_text import render_text as render
        else:
            from .render_dot import render_dot as render
        lines = render(report)
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0
