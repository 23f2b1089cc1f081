"""leakwatch's command line: run a program under the shim, dump a live
process or a core, render a saved report.

One module per command (run, dump, report) and per shared part (paths:
where the shim and leakwatch-inspect are; options and constants: the tables
shared with the C side, generated at build time into _constants.py;
reportdata: a loaded report; render_text, render_dot, sarif: its formats).
The `leakwatch` launcher (scripts/leakwatch) only finds this package and
calls cli.entry(). Python 3 standard library only.
"""
