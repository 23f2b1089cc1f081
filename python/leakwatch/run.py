"""leakwatch run: start a program with the shim preloaded, pass its exit
status through, and forward the signals a user sends to stop it.

The command only sets LD_PRELOAD and LEAKWATCH_OPTIONS; what the loader
would silently ignore (static, setuid, other-architecture binaries) is
refused here with a line that says why."""
import errno
import os
import re
import signal
import stat
import struct
import sys

from .errors import EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_RUN_FAILED, fail
from .paths import find_library


def resolve_command(name):
    """The file execvp() would run for `name`, or a Failure (127/126)."""
    if "/" in name:
        if not os.path.exists(name):
            fail(f"{name}: no such file", EXIT_NOT_FOUND)
        if os.path.isdir(name):
            fail(f"{name}: is a directory", EXIT_CANNOT_EXECUTE)
        if not os.access(name, os.X_OK):
            fail(f"{name}: permission denied", EXIT_CANNOT_EXECUTE)
        return name
    if not name:
        fail("'': command not found", EXIT_NOT_FOUND)
    search = os.environ.get("PATH")
    if search is None:
        search = "/bin:/usr/bin"  # glibc's execvp default
    denied = None
    for d in search.split(":"):
        path = os.path.join(d or ".", name)
        if os.path.isdir(path) or not os.path.exists(path):
            continue
        if os.access(path, os.X_OK):
            return path
        denied = denied or path
    if denied:
        fail(f"{denied}: permission denied", EXIT_CANNOT_EXECUTE)
    fail(f"{name}: command not found", EXIT_NOT_FOUND)


ELF_MACHINES = {3: "x86 (32-bit)", 62: "x86-64", 40: "ARM", 183: "AArch64", 243: "RISC-V",
                8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390"}


def elf_info(path):
    """(is_elf, has_interp, machine, elf_class) of a file; is_elf False for
    anything that is not an ELF file we can read (scripts, unreadable
    files): the kernel or the loader will say what is wrong with those."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if len(header) < 52 or header[:4] != b"\x7fELF":
                return (False, False, None, None)
            elf_class, data = header[4], header[5]
            if data not in (1, 2) or elf_class not in (1, 2):
                return (False, False, None, None)
            endian = "<" if data == 1 else ">"
            (machine,) = struct.unpack_from(endian + "H", header, 18)
            if elf_class == 2:
                if len(header) < 64:
                    return (False, False, None, None)
                (phoff,) = struct.unpack_from(endian + "Q", header, 32)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 54)
            else:
                (phoff,) = struct.unpack_from(endian + "I", header, 28)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 42)
            if phnum == 0xFFFF:  # PN_XNUM: the real count is in section 0
                shoff = struct.unpack_from(endian + ("Q" if elf_class == 2 else "I"), header,
                                           40 if elf_class == 2 else 32)[0]
                f.seek(shoff + (44 if elf_class == 2 else 28))
                raw = f.read(4)
                if len(raw) == 4:
                    (phnum,) = struct.unpack(endian + "I", raw)
            if phentsize < 4 or phnum > 65536:
                return (True, False, machine, elf_class)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(len(table) // phentsize):
                (p_type,) = struct.unpack_from(endian + "I", table, i * phentsize)
                if p_type == 3:  # PT_INTERP
                    return (True, True, machine, elf_class)
            return (True, False, machine, elf_class)
    except (OSError, struct.error, ValueError, OverflowError):
        return (False, False, None, None)


def is_dynamic_loader(path):
    """ld.so itself has no PT_INTERP, yet `ld.so ./prog` honours LD_PRELOAD."""
    base = os.path.basename(os.path.realpath(path))
    return base.startswith("ld-linux") or base.startswith("ld.so") or base.startswith("ld64.so")


def check_preloadable(path, shown, library):
    """Refuse (125) what LD_PRELOAD cannot reach: static binaries, binaries
    the loader runs in secure mode, or binaries of another architecture."""
    try:
        st = os.stat(path)
    except OSError as e:
        fail(f"{shown}: {e.strerror}", EXIT_NOT_FOUND)
    if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
        what = "setuid" if st.st_mode & stat.S_ISUID else "setgid"
        fail(f"{shown} is {what}: the loader ignores LD_PRELOAD for it; "
             "run an unprivileged copy instead", EXIT_RUN_FAILED)
    try:
        os.getxattr(path, "security.capability")
        fail(f"{shown} has file capabilities: the loader ignores LD_PRELOAD for it; "
             "run a copy without them instead", EXIT_RUN_FAILED)
    except (OSError, AttributeError):
        pass
    is_elf, has_interp, machine, elf_class = elf_info(path)
    if not is_elf:
        return  # a script (its interpreter is dynamic) or something exec reports
    if not has_interp and not is_dynamic_loader(path):
        fail(f"{shown} is statically linked: LD_PRELOAD cannot work there; "
             "link it dynamically to use leakwatch", EXIT_RUN_FAILED)
    lib_elf, _, lib_machine, lib_class = elf_info(library)
    if lib_elf and (machine, elf_class) != (lib_machine, lib_class):
        def arch(m, c):
            return ELF_MACHINES.get(m, f"machine {m}") + ("" if c == 2 or m == 3 else " (32-bit)")
        fail(f"{shown} is built for {arch(machine, elf_class)} but {library} is for "
             f"{arch(lib_machine, lib_class)}", EXIT_RUN_FAILED)


def build_environment(library, json_path, options):
    env = dict(os.environ)
    if any(c in library for c in " :"):
        fail(f"the path of the library ({library}) contains a space or ':', which "
             "LD_PRELOAD cannot express; move it or set LEAKWATCH_LIB", EXIT_RUN_FAILED)
    kept = [entry for entry in re.split(r"[ :]+", env.get("LD_PRELOAD", ""))
            if entry and not os.path.basename(entry).startswith("libleakwatch.so")]
    env["LD_PRELOAD"] = ":".join([library] + kept)
    items = []
    existing = env.get("LEAKWATCH_OPTIONS", "")
    if existing:
        items.append(existing)
    if json_path is not None:
        if ":" in json_path:
            fail(f"--json {json_path}: the file name cannot contain ':'", EXIT_RUN_FAILED)
        items.append("json_path=" + os.path.abspath(json_path))
    for option in options:
        key, eq, value = option.partition("=")
        if not eq or not key.strip():
            fail(f"--option {option}: expected key=value", EXIT_RUN_FAILED)
        if ":" in option:
            fail(f"--option {option}: a value cannot contain ':'", EXIT_RUN_FAILED)
        items.append(option)
    if items:
        env["LEAKWATCH_OPTIONS"] = ":".join(items)
    return env


FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
SI_KERNEL = 0x80


def exit_status(wait_status):
    if os.WIFEXITED(wait_status):
        return os.WEXITSTATUS(wait_status)
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return 1


def run_child(path, argv, env):
    """Start the program and wait for it, forwarding SIGINT/SIGTERM/SIGHUP/
    SIGQUIT. Signals are taken synchronously (sigwaitinfo) so a Ctrl-C the
    terminal already sent to the whole process group is not sent twice."""
    waited = set(FORWARDED_SIGNALS) | {signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        pid = os.posix_spawn(path, argv, env, setsigmask=old_mask,
                             setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    except OSError as e:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if e.errno == errno.ENOENT:
            fail(f"{argv[0]}: {e.strerror} (is its interpreter missing?)", EXIT_NOT_FOUND)
        fail(f"{argv[0]}: cannot execute: {e.strerror}", EXIT_CANNOT_EXECUTE)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            break
        info = signal.sigwaitinfo(waited)
        if info.si_signo == signal.SIGCHLD:
            continue
        if info.si_code == SI_KERNEL:
            try:
                if os.getpgid(pid) == os.getpgrp():
                    continue  # from the terminal: the program got it already
            except OSError:
                pass
        try:
            os.kill(pid, info.si_signo)
        except ProcessLookupError:
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    return exit_status(status)


def file_identity(path):
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino, st.st_mtime_ns)
    except OSError:
        return None


def command_run(args):
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        fail("run: no command given (leakwatch run [--json FILE] [--option k=v]... [--] CMD ARGS...)",
             EXIT_RUN_FAILED)
    library = find_library()
    path = resolve_command(command[0])
    check_preloadable(path, command[0], library)
    env = build_environment(library, args.json, args.option)
    before = None
    json_file = None
    if args.json is not None and "%p" not in args.json:
        json_file = os.path.abspath(args.json)
        try:
            kind = os.lstat(json_file).st_mode
        except OSError:
            kind = None
        if kind is not None and not stat.S_ISREG(kind):
            # A FIFO, a device or /dev/stdout is written into, not replaced
            # (or refused by the shim, which says so): nothing to compare.
            json_file = None
        else:
            before = file_identity(json_file)
    status = run_child(path, command, env)
    if json_file is not None:
        after = file_identity(json_file)
        if after is None or after == before:
            print(f"leakwatch: note: no JSON report was written to {args.json} "
                  "(the program ended without calling exit(): _exit, exec or a signal?)", file=sys.stderr)
    return status
