"""The program sees exactly glibc's results (issue 16, item 6).

tests/programs/kinds_table.c prints one row per lock kind x call x
situation (free, held by the caller, held by another thread, and for
robust mutexes: owner died, recovered with pthread_mutex_consistent, made
not recoverable): the return value and errno (set to 1234 before each call).
Each row runs in a child process of its own and prints HUNG if it does not
end in 4 s. The thread rows are joins and detaches that report misuse
(self-join, a detached thread) and creations, errno included.

Each case (one a kind: results.normal, results.pi_robust, results.thread...)
runs the table with and without the shim and requires the very same rows,
printing every row that differs.
"""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from lwtest import LIB, program


def table(kind, shim):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    if shim:
        # exitcode=0: the status stays the program's own (misuse findings
        # are expected: unlocking a mutex one does not hold...). No JSON:
        # only the rows are compared.
        env.update(LD_PRELOAD=str(LIB), LEAKWATCH_OPTIONS="exitcode=0")
    proc = subprocess.run([program("kinds_table"), kind], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    return proc.returncode, proc.stdout.splitlines()


# The kinds of kinds_table.c (checked by test_kind_list), one case each.
KINDS = ["normal", "recursive", "errorcheck", "adaptive", "robust-normal", "robust-recursive",
         "robust-errorcheck", "robust-adaptive", "pi", "pi-errorcheck", "pi-robust", "pp", "pshared",
         "pshared-robust", "rwlock", "rwlock-prefer-writer", "mtx-plain", "mtx-recursive",
         "mtx-timed", "thread"]


def test_kind_list():
    out = subprocess.run([program("kinds_table"), "--list"], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    assert out.split() == KINDS


def compare(kind):
    """The rows of `kind`, with and without the shim (run side by side)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        plain_run = pool.submit(table, kind, False)
        shim_run = pool.submit(table, kind, True)
        (plain_status, plain), (shim_status, shimmed) = plain_run.result(), shim_run.result()
    assert plain_status == 0, (kind, plain_status, plain)
    assert plain and not any("HUNG" in r or "killed" in r for r in plain), plain
    differing = []
    if shim_status != 0:
        differing.append(f"exit status {shim_status} under the shim")

    # Rows are keyed by their first three fields (kind | situation | call).
    def keyed(lines):
        return {" | ".join(line.split(" | ")[:3]): line for line in lines}

    plain_rows, shim_rows = keyed(plain), keyed(shimmed)
    for key, line in plain_rows.items():
        other = shim_rows.get(key, "(missing)")
        if other != line:
            differing.append(f"  without: {line}\n  with:    {other}")
    for key, line in shim_rows.items():
        if key not in plain_rows:
            differing.append(f"  with only: {line}")
    assert not differing, (f"{len(differing)} of {len(plain)} rows of {kind} differ under the shim:\n"
                           + "\n".join(differing))


def make_case(kind):
    def case():
        compare(kind)
    case.__name__ = "test_" + kind.replace("-", "_")
    case.__doc__ = f"The {kind} rows of kinds_table, with and without the shim."
    return case


for _kind in KINDS:
    globals()["test_" + _kind.replace("-", "_")] = make_case(_kind)
