"""leakwatch dump: ask a live process under the shim for its report (a
signal with a marker value, queued to the shim's helper thread alone; the
shim writes /tmp/leakwatch-UID/PID.dump.*), or, for a process without the
shim (or without its helper thread yet) or a core file, run
leakwatch-inspect.

Nothing here trusts the target: its /proc files, its dump directory and the
dump file are checked the way the shim checks them before writing."""
import errno
import os
import platform
import re
import signal
import stat
import struct
import subprocess
import sys
import time

from .errors import (EXIT_DUMPS_OFF, EXIT_NO_ANSWER, EXIT_NO_PERMISSION, EXIT_NO_PROCESS,
                     EXIT_NOT_LEAKWATCH, EXIT_USAGE, Failure, fail)
from .options import dump_signal_from_options
from .paths import inspect_candidates
from .run import file_identity


# The value that tells the shim "this signal is a dump request": "LWDM".
DUMP_REQUEST = 0x4C57444D

# The request goes to the shim's helper thread alone, with the shim's
# capture signal (src/stack.c: SIGRTMAX - 3), the one signal that thread
# takes. dump_signal, sent to the process, goes to whichever thread does not
# block it, and a sleep() or poll() there would return early.
REQUEST_SIGNAL = signal.SIGRTMAX - 3
SI_QUEUE = -1
# rt_tgsigqueueinfo(2), which Python does not wrap, by machine.
RT_TGSIGQUEUEINFO = {"x86_64": 297, "aarch64": 240, "riscv64": 240, "i386": 335, "i686": 335}
DUMP_POLL_SECONDS = 0.020


def signal_name(number):
    if signal.SIGRTMIN < number < signal.SIGRTMAX:
        return f"SIGRTMAX-{signal.SIGRTMAX - number}"
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
    if dump_signal_from_options(options) == 0:
        fail(f"dumps are off in process {pid} (dump_signal=0)", EXIT_DUMPS_OFF)
    try:
        caught = int(status.get("SigCgt", ""), 16)
        uid = int(status.get("Uid", "").split()[0])
    except (ValueError, IndexError):
        fail(f"cannot read the state of process {pid}", EXIT_NO_PROCESS)
    if not caught & (1 << (REQUEST_SIGNAL - 1)):
        fail(f"process {pid} has no leakwatch handler for {signal_name(REQUEST_SIGNAL)} "
             "(is the shim initialised, or did the program replace the handler?)",
             EXIT_NOT_LEAKWATCH)
    return uid


def helper_thread(pid, patience=1.0):
    """The tid of the shim's helper thread in `pid`, or None: the thread
    named "leakwatch" that blocks every signal but REQUEST_SIGNAL. The shim
    starts it with the program's first thread or first wait; it names
    itself as it starts, so a process with threads is given `patience`
    seconds to show it."""
    deadline = time.monotonic() + patience
    while True:
        tids = []
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            pass
        found = find_helper(pid, tids)
        if found is not None or len(tids) <= 1 or time.monotonic() >= deadline:
            return found
        time.sleep(0.01)


def find_helper(pid, tids):
    must_block = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGUSR2 - 1))
    for tid in sorted(tids, key=lambda t: int(t) if t.isdigit() else 0):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().rstrip("\n") != "leakwatch":
                    continue
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                blocked = int(status_fields(f.read()).get("SigBlk", "0"), 16)
        except (OSError, ValueError):
            continue
        if blocked & must_block == must_block and not blocked & (1 << (REQUEST_SIGNAL - 1)):
            return int(tid)
    return None


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


def send_dump_request(pid, tid):
    """rt_tgsigqueueinfo(pid, tid, REQUEST_SIGNAL, {SI_QUEUE, 'LWDM'})."""
    import ctypes
    number = RT_TGSIGQUEUEINFO.get(platform.machine())
    if number is None:
        fail(f"cannot queue a signal to one thread on {platform.machine()} "
             "(rt_tgsigqueueinfo's number is not known here)", 1)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        fail("cannot find syscall() in the C library", 1)
    # siginfo_t: signo, errno, code, then (after padding to a pointer's
    # alignment) the sender's pid and uid, and the value (sival_int first).
    info = ctypes.create_string_buffer(128)
    fields = 16 if ctypes.sizeof(ctypes.c_void_p) == 8 else 12
    struct.pack_into("iii", info, 0, REQUEST_SIGNAL, 0, SI_QUEUE)
    struct.pack_into("iIi", info, fields, os.getpid(), os.getuid(), DUMP_REQUEST)
    syscall.restype = ctypes.c_long
    if syscall(ctypes.c_long(number), ctypes.c_int(pid), ctypes.c_int(tid),
               ctypes.c_int(REQUEST_SIGNAL), info) != 0:
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


def command_attach(args, target, shim_idle=False):
    """A process without the shim, or a core: leakwatch-inspect stops it for
    a few ms (ptrace), reads its threads and writes the same report.
    `shim_idle`: the shim is there, without its helper thread (the report
    says so)."""
    tool = next((c for c in inspect_candidates() if os.access(c, os.X_OK)), None)
    if tool is None:
        fail("cannot find leakwatch-inspect (looked next to this command and in "
             "../libexec/leakwatch; set LEAKWATCH_INSPECT)", 1)
    argv = [tool] + (["--json"] if args.json else []) + (["--shim-idle"] if shim_idle else []) + target
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
        uid = dump_target(pid)
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
        uid = dump_target(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        fail(f"no such process: {pid}", EXIT_NO_PROCESS)
    except PermissionError:
        fail(f"no permission to signal process {pid}", EXIT_NO_PERMISSION)
    helper = helper_thread(pid)
    if helper is None:
        # Not a thread started nor a wait begun yet: nothing of the shim's
        # to add to what is read from outside, and no thread of its own to
        # take the request.
        return command_attach(args, [str(pid)], shim_idle=True)
    directory = f"/tmp/leakwatch-{uid}"
    path = os.path.join(directory, f"{pid}.dump.{'json' if args.json else 'txt'}")
    before = None
    if check_dump_directory(directory, uid):
        before = file_identity(path)
    send_dump_request(pid, helper)
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
                 f"(asked its thread {helper}; expected {path})", EXIT_NO_ANSWER)
    check_dump_directory(directory, uid)
    data = read_dump_file(path)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0
