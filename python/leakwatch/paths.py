"""Where the command's companions are: the shim (libleakwatch.so) and
leakwatch-inspect, found relative to the command the user ran (the
launcher, `leakwatch`), so one tree works wherever it is put: the build
tree, an installed prefix, a source checkout beside its build/."""
import os

from .errors import EXIT_RUN_FAILED, fail

# The launcher's own path (set by it before main); this file's otherwise.
launcher = None


def launcher_dirs():
    """The launcher's directory, and its real one if it is a symbolic link."""
    here = os.path.abspath(launcher or __file__)
    dirs = []
    for path in (here, os.path.realpath(here)):
        d = os.path.dirname(path)
        if d not in dirs:
            dirs.append(d)
    return dirs


def library_candidates():
    """Where libleakwatch.so may be, relative to the launcher: next to it
    (the build tree), PREFIX/lib* (installed in PREFIX/bin), or ../build (a
    source checkout's scripts/)."""
    import sysconfig  # only `run` needs it: not at start
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    candidates = []
    for d in launcher_dirs():
        for rel in ("libleakwatch.so",
                    f"../lib/{multiarch}/libleakwatch.so",
                    "../lib/x86_64-linux-gnu/libleakwatch.so",
                    "../lib/libleakwatch.so",
                    "../lib64/libleakwatch.so",
                    "../build/libleakwatch.so"):
            path = os.path.normpath(os.path.join(d, rel))
            if path not in candidates:
                candidates.append(path)
    return candidates


def find_library():
    override = os.environ.get("LEAKWATCH_LIB")
    if override:
        path = os.path.abspath(override)
        if not os.path.isfile(path):
            fail(f"LEAKWATCH_LIB is {override}, which is not a file", EXIT_RUN_FAILED)
        return path
    candidates = library_candidates()
    for path in candidates:
        if os.path.isfile(path):
            return path
    fail("cannot find libleakwatch.so (looked in " + ", ".join(candidates) +
         "); set LEAKWATCH_LIB to its path", EXIT_RUN_FAILED)


def inspect_candidates():
    """leakwatch-inspect: next to the launcher (the build tree), or in
    PREFIX/libexec/leakwatch (installed in PREFIX/bin); LEAKWATCH_INSPECT wins."""
    if os.environ.get("LEAKWATCH_INSPECT"):
        return [os.environ["LEAKWATCH_INSPECT"]]
    return [os.path.normpath(os.path.join(d, rel)) for d in launcher_dirs()
            for rel in ("leakwatch-inspect", "../libexec/leakwatch/leakwatch-inspect",
                        "../build/leakwatch-inspect")]
