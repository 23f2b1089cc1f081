"""The tables the command line shares with the shim, from their one source.

_constants.py is generated at build time by tools/constants.c from
src/finding.h (finding kinds), src/options.h (options) and src/options.c's
parser (the signals dump_signal takes); the build tree and an installed
tree have it beside this file. A source checkout's python/ has not: there
it is taken from the build tree (../build, or $LEAKWATCH_BUILD), and if
there is none the command says to build first.
"""
import os

try:
    from ._constants import DUMP_SIGNALS, FINDING_KINDS, HOMEPAGE, OPTIONS, VERSION  # noqa: F401
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
    FINDING_KINDS = _module.FINDING_KINDS
    OPTIONS = _module.OPTIONS
    DUMP_SIGNALS = _module.DUMP_SIGNALS
    del _module

# Finding kinds by the C enum's name: KIND.DEADLOCK == "deadlock". Code that
# must single out a kind names it so; a kind renamed or removed in
# src/finding.h then fails loudly here instead of silently never matching.
KIND = type("Kinds", (), {k.id: k.name for k in FINDING_KINDS})
KINDS_BY_NAME = {k.name: k for k in FINDING_KINDS}
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}
