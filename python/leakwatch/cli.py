"""The command line: argparse, and the dispatch to one module per command.

Only argparse is imported at start; each command's module is imported when
it runs, so `leakwatch --help` (and a typo) stays quick."""
import argparse
import os
import signal
import sys

from .errors import EXIT_RUN_FAILED, EXIT_USAGE, Failure


class Parser(argparse.ArgumentParser):
    """argparse with a chosen exit status for usage errors (run: 125, so
    they cannot be mistaken for the program's own status), and an epilog
    made only when help is printed (it reads the generated tables)."""

    def __init__(self, *args, usage_status=EXIT_USAGE, make_epilog=None, **kwargs):
        self.usage_status = usage_status
        self.make_epilog = make_epilog
        super().__init__(*args, **kwargs)

    def format_help(self):
        if self.make_epilog is not None:
            self.epilog, self.make_epilog = self.make_epilog(), None
        return super().format_help()

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"leakwatch: {message}\n")
        sys.exit(self.usage_status)


def positive_seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    if not (0 < value < 1e9):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def process_id(text):
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    if value <= 0 or value > 0x7FFFFFFF:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return value


class VersionAction(argparse.Action):
    """--version, from the generated tables (CMake's project version)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            from .constants import VERSION
        except Failure as e:
            parser.exit(1, f"leakwatch: {e}\n")
        sys.stdout.write(f"leakwatch {VERSION}\n")
        parser.exit()


def options_epilog():
    """The top-level help's last lines, naming every shim option."""
    try:
        from .options import option_names
        names = ", ".join(option_names())
    except Failure:
        names = "listed in leakwatch(1)"
    import textwrap
    text = (f"Options for the shim go in LEAKWATCH_OPTIONS=\"key=value:key=value\" ({names}); "
            "see leakwatch(1).")
    return "\n".join(textwrap.wrap(text, 88)) + "\n`leakwatch COMMAND --help` describes each command."


def make_parser():
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="leakwatch",
        formatter_class=formatter,
        description="Find leaked threads, deadlocks and pthread misuse in a program, "
                    "without rebuilding it.",
        make_epilog=options_epilog)
    parser.add_argument("--version", action=VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command_name", metavar="COMMAND", parser_class=Parser)

    run = commands.add_parser(
        "run", usage_status=EXIT_RUN_FAILED, formatter_class=formatter,
        usage="leakwatch run [-h] [--json FILE] [--option KEY=VALUE]... [--] CMD [ARGS...]",
        help="run a program with the shim preloaded and print its report",
        description="Run CMD with libleakwatch.so preloaded. The report goes to stderr when CMD "
                    "exits;\nleakwatch exits with CMD's status (or `exitcode`, 66 by default, when "
                    "there were\nfindings), or 128+N if CMD was killed by signal N.",
        epilog="Exit status: CMD's own; 125 if leakwatch could not run it (static or setuid "
               "binary,\nno libleakwatch.so); 126 if CMD cannot be executed; 127 if it is not found.\n"
               "LD_PRELOAD entries already set are kept after the shim; LEAKWATCH_OPTIONS from\n"
               "the environment comes first, then --json, then each --option.")
    run.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE (%%p is the pid)")
    run.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                     help="add KEY=VALUE to LEAKWATCH_OPTIONS (repeatable)")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD ARGS...",
                     help="the program to run and its arguments")

    dump = commands.add_parser(
        "dump", formatter_class=formatter,
        help="print the live state of a process (or of a core file)",
        description="Ask process PID, which runs under leakwatch, for a report of its live "
                    "state: every\nthread, what it waits on and for how long, what it holds, "
                    "its stacks, and any\ndeadlock. The process is not stopped. PID may also be a `leakwatch run` "
                    "process:\nthen the program it runs is dumped.\n\n"
                    "A process without the shim is attached to from outside (ptrace, like eu-stack):\n"
                    "it is stopped for a few milliseconds while its threads are read, and the report\n"
                    "(trigger \"attach\") has no creation stacks, wait ages or lock history. --core FILE\n"
                    "reads a core file (gcore PID) the same way.",
        epilog="Exit status: 0 done; 3 no such process; 4 no permission (or an unsafe dump\n"
               "directory); 5 not running under leakwatch; 6 no answer in time; 7 dumps are off\n"
               "(dump_signal=0). The dump is read from /tmp/leakwatch-UID/PID.dump.{txt,json}.\n"
               "Attach and --core: 1 failed (a core without its program: give --exe); 3 no such\n"
               "process, or it exited during the dump; 4 ptrace not permitted.")
    dump.add_argument("--json", action="store_true", help="print the JSON report instead of the text")
    dump.add_argument("--timeout", metavar="SECONDS", type=positive_seconds, default=5.0,
                      help="how long to wait for the answer (default 5)")
    dump.add_argument("pid", metavar="PID", type=process_id, nargs="?", help="the process to dump")
    dump.add_argument("--core", metavar="FILE", help="dump a core file instead of a live process")
    dump.add_argument("--exe", metavar="PROGRAM",
                      help="with --core: the program that dumped it (if moved or not found)")

    report = commands.add_parser(
        "report", formatter_class=formatter,
        help="render a saved JSON report as text, JSON, a Graphviz graph or SARIF",
        description="Render FILE.json, a report the shim wrote (json_path, `run --json`, `dump "
                    "--json`).\n`text` is the layout the shim prints; `json` is the report "
                    "pretty-printed; `dot`\nis the wait-for graph for Graphviz "
                    "(leakwatch report --format dot r.json | dot -Tsvg);\n`sarif` is SARIF 2.1.0 "
                    "for code-scanning viewers (GitHub code scanning, IDEs):\none rule per "
                    "finding kind, one result per finding at its source line.",
        epilog="Exit status: 0 done; 2 the file is unreadable or not a leakwatch report.")
    report.add_argument("file", metavar="FILE.json", help="the report (- for standard input)")
    report.add_argument("--format", choices=("text", "json", "dot", "sarif"), default="text",
                        help="output format (default text)")
    report.add_argument("--srcroot", metavar="DIR",
                        help="sarif: source files under DIR are given relative to it "
                             "(uriBaseId SRCROOT), as code-scanning uploads expect")
    return parser


def main(argv):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command_name not in ("run", "dump", "report"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command_name == "run":
            from .run import command_run as handler
        elif args.command_name == "dump":
            from .dump import command_dump as handler
        else:
            from .report import command_report as handler
        return handler(args)
    except Failure as e:
        print(f"leakwatch: {e}", file=sys.stderr)
        return e.status


def entry(argv=None):
    """The launcher's whole job, once it has found this package: run main
    and turn the ways a command line ends into exit statuses."""
    try:
        status = main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        status = 128 + signal.SIGINT
    except BrokenPipeError:
        # The reader went away (| head): not an error worth a message.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        status = 141
    sys.exit(status)


def legacy_attribute(name):
    """A function of the one-file command by its name (scripts/leakwatch
    loaded as a module by older tests and tools)."""
    import importlib
    for module in ("options", "dump", "run", "reportdata", "render_text", "render_dot", "report",
                   "paths", "errors"):
        value = getattr(importlib.import_module(f"{__package__}.{module}"), name, None)
        if value is not None:
            return value
    raise AttributeError(name)
