"""Every wrapper can be the first call into the shim (issue 16, item 1).

tests/firstcall/ holds one scenario per line of the shim's table of wrapped
functions (LW_REAL_FUNCTIONS, src/interpose.h; a line without a scenario
does not build). Each scenario calls its function once, as the very first
call into the shim, and prints the return value, errno and what the call
did, looking through glibc directly. The call is made from:

  library      the constructor of a library the executable needs, which
               ld.so runs before the preloaded shim's (checked below);
  preinit      the executable's .preinit_array, before every constructor;
  constructor  the executable's constructor, after the shim's, from the
               main thread or from helper threads the shim never saw made.

Each case runs every scenario with and without the shim and requires the
same stdout and exit status (so no crash and no hang: a watchdog prints
HUNG), listing every scenario that differs.
"""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from lwtest import BUILD, LIB

FIRSTCALL = BUILD / "tests" / "firstcall" / "firstcall"


def scenarios():
    assert FIRSTCALL.exists(), f"{FIRSTCALL} not built"
    out = subprocess.run([str(FIRSTCALL), "--list"], stdout=subprocess.PIPE, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}).stdout
    names = out.split()
    assert len(names) > 50, names
    return names


class Run:
    def __init__(self, proc):
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr

    def __repr__(self):
        return f"Run(returncode={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr[-2000:]!r})"


def run_scenario(phase, name, shim):
    """One run, with or without the shim. No JSON report: writing it costs
    0.4 s a run here, and only stdout and the status are compared. exitcode=0
    keeps the status the program's own (the threads the scenarios join
    through glibc directly look unjoined to the shim)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    env.update(FIRSTCALL_PHASE=phase, FIRSTCALL_SCENARIO=name)
    if shim:
        env.update(LD_PRELOAD=str(LIB), LEAKWATCH_OPTIONS="exitcode=0")
    try:
        proc = subprocess.run([str(FIRSTCALL)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=30)
    except subprocess.TimeoutExpired as e:  # the watchdog did not fire
        return Run(subprocess.CompletedProcess(e.cmd, "timeout", e.stdout or "", e.stderr or ""))
    return Run(proc)


def outcome(result):
    return (result.returncode, result.stdout)


def describe(result):
    status = result.returncode
    if isinstance(status, int) and status < 0:
        status = f"killed by signal {-status}"
    return f"status {status}, stdout {result.stdout!r}"


def compare_phase(phase):
    def one(name):
        return name, run_scenario(phase, name, False), run_scenario(phase, name, True)

    names = scenarios()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, names))
    differing = []
    for name, plain, shimmed in results:
        # Without the shim every scenario runs to the end.
        assert plain.returncode == 0 and "HUNG" not in plain.stdout, (name, plain)
        assert f"{name} in the {phase} phase" in plain.stdout, (name, plain)
        if outcome(plain) != outcome(shimmed):
            differing.append(f"  {name}:\n    without the shim: {describe(plain)}\n"
                             f"    with the shim:    {describe(shimmed)}")
    assert not differing, (f"{len(differing)} of {len(names)} scenarios differ in the {phase} phase:\n"
                           + "\n".join(differing))


def test_library_order():
    """The premise of the library phase: ld.so runs the scenario library's
    constructor before the shim's (LD_DEBUG=libs prints the order)."""
    env = dict(os.environ, LD_PRELOAD=str(LIB), LD_DEBUG="libs", FIRSTCALL_PHASE="none")
    proc = subprocess.run([str(FIRSTCALL)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)
    order = [line.split("calling init:")[1].strip() for line in proc.stderr.splitlines()
             if "calling init:" in line]
    names = [os.path.basename(path) for path in order]
    assert "libfirstcall_scenarios.so" in names and "libleakwatch.so" in names, names
    assert names.index("libfirstcall_scenarios.so") < names.index("libleakwatch.so"), names


def test_library():
    compare_phase("library")


def test_preinit():
    compare_phase("preinit")


def test_constructor():
    compare_phase("constructor")
