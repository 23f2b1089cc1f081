"""leakwatch dump: ask a live process under the shim for its report (a
signal with a marker value; the shim writes /tmp/leakwatch-UID/PID.dump.*),
or, for a process without the shim or a core file, run leakwatch-inspect.

Nothing here trusts the target: its /proc files, its dump directory and the
dump file are checked the way the shim checks them before writing."""
import errno
import os
import re
import signal
import stat
import subprocess
import sys
import time

from .errors import (EXIT_DUMPS_OFF, EXIT_NO_ANSWER, EXIT_NO_PERMISSION, EXIT_NO_PROCESS,
                     EXIT_NOT_LEAKWATCH, EXIT_USAGE, Failure, fail)
from .options import dump_signal_from_options
from .paths import inspect_candidates
from .run import file_identity


# sigqueue() value that tells the shim "this signal is a dump request", as
# opposed to the program's own use of the signal: "LWDM".
DUMP_REQUEST = 0x4C57444D
DUMP_POLL_SECONDS = 0.020


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def read_proc(pid, name, binary=False):
    path = f"/proc/{pid}/{name}"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    except ProcessLookupError:
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    except PermissionError:
        fail(f"no permission to inspect process {pid} (cannot read {path})", EXIT_NO_PERMISSION)
    except OSError as e:
        if e.errno == errno.ESRCH:
            fail(f"no such process: {pid}", EXIT_NO_PROCESS)
        if e.errno in (errno.EACCES, errno.EPERM):
            fail(f"no permission to inspect process {pid} (cannot read {path})", EXIT_NO_PERMISSION)
        fail(f"cannot read {path}: {e.strerror}", EXIT_NO_PERMISSION)
    return data if binary else data.decode("utf-8", "surrogateescape")


def status_fields(text):
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields


LIBRARY_IN_MAPS = re.compile(r"/libleakwatch\.so(\.[0-9.]+)?( \(deleted\))?$")


def run_wrapper_child(pid):
    """If `pid` is a `leakwatch run` process, the pid of the program it runs
    (users type `leakwatch run ./app &` then `leakwatch dump $!`); else None."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
    except OSError:
        return None
    is_wrapper = any(os.path.basename(arg) == b"leakwatch" and i + 1 < len(argv) and argv[i + 1] == b"run"
                     for i, arg in enumerate(argv))
    if not is_wrapper or len(children) != 1 or not children[0].isdigit():
        return None
    return int(children[0])


def dump_target(pid):
    """Everything `dump` must know before signalling: (signal, uid).
    Fails with 3/4/5/7; never signals anything."""
    if not os.path.isdir(f"/proc/{pid}"):
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    status = status_fields(read_proc(pid, "status"))
    if status.get("State", "").startswith(("Z", "X")):
        fail(f"no such process: {pid} (it has exited)", EXIT_NO_PROCESS)
    maps = read_proc(pid, "maps")
    if not any(LIBRARY_IN_MAPS.search(line) for line in maps.splitlines()):
        fail(f"process {pid} is not running under leakwatch (no libleakwatch.so in /proc/{pid}/maps)",
             EXIT_NOT_LEAKWATCH)
    environ = read_proc(pid, "environ", binary=True)
    options = ""
    for entry in environ.split(b"\0"):
        if entry.startswith(b"LEAKWATCH_OPTIONS="):
            options = entry[len(b"LEAKWATCH_OPTIONS="):].decode("utf-8", "replace")
            break
    sig = dump_signal_from_options(options)
    if sig == 0:
        fail(f"dumps are off in process {pid} (dump_signal=0)", EXIT_DUMPS_OFF)
    try:
        caught = int(status.get("SigCgt", ""), 16)
        uid = int(status.get("Uid", "").split()[0])
    except (ValueError, IndexError):
        fail(f"cannot read the state of process {pid}", EXIT_NO_PROCESS)
    if not caught & (1 << (sig - 1)):
        fail(f"process {pid} has no leakwatch handler for {signal_name(sig)} "
             "(is the shim initialised, or did the program replace the handler?)",
             EXIT_NOT_LEAKWATCH)
    return sig, uid


def check_dump_directory(directory, uid):
    """True if it exists and is safe to read from, False if it does not
    exist yet; fails (4) if someone else could have planted files in it or
    watch them appear. The rule and its messages are word for word the
    shim's (dump_directory in src/reporting.c), which writes the dumps."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return False
    except OSError as e:
        fail(f"unsafe dump directory {directory}: {e.strerror}", EXIT_NO_PERMISSION)
    if stat.S_ISLNK(st.st_mode):
        why = "a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        why = "not a directory"
    elif st.st_uid != uid:
        why = f"owned by uid {st.st_uid}, not {uid}"
    elif st.st_mode & 0o077:
        why = f"open to other users (mode {stat.S_IMODE(st.st_mode):o})"
    else:
        return True
    fail(f"unsafe dump directory {directory}: {why}", EXIT_NO_PERMISSION)


def send_dump_request(pid, sig):
    """sigqueue(pid, sig, {.sival_int = 'LWDM'}) through libc."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        sigqueue = libc.sigqueue
    except (OSError, AttributeError):
        fail("cannot find sigqueue() in the C library", 1)
    # union sigval is passed like a pointer-sized integer (ctypes cannot pass
    # unions by value); sival_int is its first 4 bytes.
    value = DUMP_REQUEST
    if ctypes.sizeof(ctypes.c_void_p) == 8 and sys.byteorder == "big":
        value <<= 32
    sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    sigqueue.restype = ctypes.c_int
    if sigqueue(pid, sig, value) != 0:
        err = ctypes.get_errno()
        if err == errno.ESRCH:
            fail(f"no such process: {pid}", EXIT_NO_PROCESS)
        if err == errno.EPERM:
            fail(f"no permission to signal process {pid}", EXIT_NO_PERMISSION)
        fail(f"cannot signal process {pid}: {os.strerror(err)}", EXIT_NO_PERMISSION)


def read_dump_file(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}", EXIT_NO_PERMISSION)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            fail(f"unsafe dump file {path}: not a regular file", EXIT_NO_PERMISSION)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def command_attach(args, target):
    """A process without the shim, or a core: leakwatch-inspect stops it for
    a few ms (ptrace), reads its threads and writes the same report."""
    tool = next((c for c in inspect_candidates() if os.access(c, os.X_OK)), None)
    if tool is None:
        fail("cannot find leakwatch-inspect (looked next to this command and in "
             "../libexec/leakwatch; set LEAKWATCH_INSPECT)", 1)
    argv = [tool] + (["--json"] if args.json else []) + target
    sys.stdout.flush()
    try:
        return subprocess.run(argv).returncode
    except OSError as e:
        fail(f"cannot run {tool}: {e.strerror}", 1)


def shim_loaded(pid):
    """From /proc/PID/maps; None when it cannot be read (another user's)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any(LIBRARY_IN_MAPS.search(line.rstrip("\n")) for line in f)
    except OSError:
        return None


def command_dump(args):
    if args.core is not None:
        if args.pid is not None:
            fail("give either PID or --core FILE, not both", EXIT_USAGE)
        return command_attach(args, ["--core", args.core] + (["--exe", args.exe] if args.exe else []))
    if args.exe is not None:
        fail("--exe goes with --core FILE", EXIT_USAGE)
    if args.pid is None:
        fail("give the PID of the process to dump (or --core FILE)", EXIT_USAGE)
    pid = args.pid
    if pid <= 0:
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    if not (args.timeout > 0 and args.timeout < 1e9):
        fail(f"--timeout {args.timeout}: must be a positive number of seconds", EXIT_USAGE)
    try:
        sig, uid = dump_target(pid)
    except Failure as e:
        child = run_wrapper_child(pid) if e.status == EXIT_NOT_LEAKWATCH else None
        if child is None and e.status in (EXIT_NOT_LEAKWATCH, EXIT_NO_PERMISSION) \
                and not shim_loaded(pid):
            # No shim (or maps we may not read): attach from outside, which
            # also says what to do when ptrace is not permitted.
            return command_attach(args, [str(pid)])
        if child is None:
            raise
        print(f"leakwatch: {pid} is `leakwatch run`; dumping the program it runs, pid {child}",
              file=sys.stderr)
        pid = child
        sig, uid = dump_target(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    except PermissionError:
        fail(f"no permission to signal process {pid}", EXIT_NO_PERMISSION)
    directory = f"/tmp/leakwatch-{uid}"
    path = os.path.join(directory, f"{pid}.dump.{'json' if args.json else 'txt'}")
    before = None
    if check_dump_directory(directory, uid):
        before = file_identity(path)
    send_dump_request(pid, sig)
    deadline = time.monotonic() + args.timeout
    while True:
        time.sleep(DUMP_POLL_SECONDS)
        if check_dump_directory(directory, uid):
            now = file_identity(path)
            if now is not None and now != before:
                break
        if not os.path.isdir(f"/proc/{pid}"):
            fail(f"process {pid} exited before it answered", EXIT_NO_PROCESS)
        if time.monotonic() >= deadline:
            fail(f"no answer from process {pid} within {args.timeout:g} s "
                 f"(sent {signal_name(sig)}; expected {path})", EXIT_NO_ANSWER)
    check_dump_directory(directory, uid)
    data = read_dump_file(path)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0
