"""The tables the command line shares with the shim, from their one source.

_constants.py is generated at build time by tools/constants.c from
src/finding.h (finding kinds), src/calls.h (waiting calls), src/options.h
(options) and src/options.c's parser (the signals dump_signal takes); the
build tree and an installed tree have it beside this file. A source checkout's python/ has not: there
it is taken from the build tree (../build, or $LEAKWATCH_BUILD), and if
there is none the command says to build first.
"""
import os

try:
    from ._constants import (CALLS, DUMP_SIGNALS, FINDING_KINDS, HELD_MAX,  # noqa: F401
                             HOMEPAGE, OBJECTS, OPTIONS, VERSION)
except ImportError:
    def _load_from_build():
        import importlib.util
        here = os.path.dirname(os.path.abspath(__file__))
        builds = [os.environ.get("LEAKWATCH_BUILD"), os.path.join(here, "..", "..", "build")]
        for build in builds:
            if not build:
                continue
            path = os.path.join(build, "python", "leakwatch", "_constants.py")
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(__name__ + "._constants", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
        from .errors import Failure
        raise Failure("the generated tables (leakwatch/_constants.py) are missing: this is a "
                      "source tree that was not built; run scripts/build.sh (or set "
                      "LEAKWATCH_BUILD to a build directory)", 1)

    _module = _load_from_build()
    VERSION = _module.VERSION
    HOMEPAGE = _module.HOMEPAGE
    HELD_MAX = _module.HELD_MAX
    CALLS = _module.CALLS
    OBJECTS = _module.OBJECTS
    FINDING_KINDS = _module.FINDING_KINDS
    OPTIONS = _module.OPTIONS
    DUMP_SIGNALS = _module.DUMP_SIGNALS
    del _module

# Finding kinds by the C enum's name: KIND.DEADLOCK is the name of
# LW_FINDING_DEADLOCK. Code that must single out a kind names it so; a kind
# renamed or removed in src/finding.h then fails loudly (AttributeError)
# instead of silently never matching.
KIND = type("Kinds", (), {k.id: k.name for k in FINDING_KINDS})
KINDS_BY_NAME = {k.name: k for k in FINDING_KINDS}
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}
CALLS_BY_NAME = {c.name: c for c in CALLS}


def call_object(call):
    """What `call` waits on ("MUTEX", "THREAD", ... of calls.h), or None for
    a name the table does not have."""
    info = CALLS_BY_NAME.get(call) if isinstance(call, str) else None
    return info.object if info else None


def is_join(call):
    return call_object(call) == "THREAD"
