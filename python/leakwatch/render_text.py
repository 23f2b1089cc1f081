"""The report as text: the layout of src/report_text.c line for line, so a
report read back from JSON looks exactly like the one the process printed."""
from .constants import HELD_MAX, KIND, is_join
from .reportdata import (address_is_set, address_text, escape_controls, get_dict, get_int,
                         get_list, get_number, get_str, get_true, is_adopted_thread,
                         is_main_thread)


def describe_thread(t):
    """T3 'worker-2' (consume)"""
    tid = get_int(t, "id")
    text = f"T{tid}" if tid is not None else "T?"
    name = get_str(t, "name")
    if name:
        text += f" '{name}'"
    start = get_str(t, "start")
    if start is not None:
        text += f" ({start})"
    elif is_main_thread(t):
        text += " (main thread)"
    return text


def duration_text(ms):
    if ms < 1000:
        return f"{int(ms)} ms"
    return f"{ms / 1000.0:.1f} s"


def frame_line(index, frame, indent):
    pc = frame.get("pc") if isinstance(frame, dict) else None
    pc_text = None
    if isinstance(pc, str):
        try:
            pc_text = "0x%012x" % int(pc, 16)
        except ValueError:
            pc_text = pc
    elif isinstance(pc, int) and not isinstance(pc, bool) and pc >= 0:
        pc_text = "0x%012x" % pc
    if pc_text is None:
        pc_text = "0x" + "?" * 12
    offset = get_int(frame, "offset")
    offset_text = "0x%x" % offset if offset is not None and offset >= 0 else "0x?"
    module = get_str(frame, "module")
    module = module if module is not None else "?"
    function = get_str(frame, "function")
    line = f"{indent}#{index:<2} {pc_text} in "
    if function is not None:
        file = get_str(frame, "file")
        number = get_int(frame, "line")
        if file is not None and number is not None and number > 0:
            line += f"{function} {file}:{number}" + (" (inlined)" if get_true(frame, "inlined") else "")
        else:
            line += f"{function}+{offset_text} ({module})"
    else:
        line += f"({module}+{offset_text})"
    return line


def qualified_by(function, prefix):
    """Whether the function's name (after a return type, before template
    arguments or parameters) starts with `prefix`."""
    end = len(function)
    for stop in "<(":
        at = function.find(stop)
        if at >= 0:
            end = min(end, at)
    name = function[function.rfind(" ", 0, end) + 1:]
    return name.startswith(prefix)


def frame_is_std(frame):
    """A standard-library frame (lw_report_frame_is_std in src/report.c):
    libstdc++ itself, its headers' inlined code, std::, __gnu_cxx::,
    __cxxabiv1::."""
    if not isinstance(frame, dict):
        return False
    module = get_str(frame, "module")
    if module and module.rsplit("/", 1)[-1].startswith("libstdc++"):
        return True
    file = get_str(frame, "file")
    include = file.find("/include/") if file else -1
    if include >= 0 and "/c++/" in file[include:]:
        return True
    function = get_str(frame, "function")
    return bool(function) and any(qualified_by(function, prefix)
                                  for prefix in ("std::", "__gnu_cxx::", "__cxxabiv1::"))


def frame_lines(frames, indent):
    """Runs of two or more standard-library frames are one line, as the
    shim's text has them ("#3-#7 … 5 frames in std::")."""
    if not isinstance(frames, list) or not frames:
        return [f"{indent}(no stack)"]
    lines = []
    i = 0
    while i < len(frames):
        end = i
        while end < len(frames) and frame_is_std(frames[end]):
            end += 1
        if end - i >= 2:
            lines.append(f"{indent}#{i}-#{end - 1} \u2026 {end - i} frames in std::")
            i = end
            continue
        lines.append(frame_line(i, frames[i], indent))
        i += 1
    return lines


def named_object(value, name):
    """"0x55d0c0de1040", or "0x55d0c0de1040 (queue_lock)" with a name."""
    text = address_text(value)
    return f"{text} ({name})" if name else text


def last_signal_lines(report, wait):
    """Who last woke a condition variable or semaphore, with which call,
    while how many waited, and that call's stack (write_last_signal)."""
    last = get_dict(wait, "last_signal")
    call = get_str(last, "call")
    if last is None or call is None:
        return []
    by_id = get_int(last, "thread")
    by = report.thread(by_id)
    post = call == "sem_post"
    if by is not None:
        text = "  " + describe_thread(by) + (", which has exited," if get_str(by, "state") == "exited"
                                            else "")
    else:
        text = f"  T{by_id if by_id is not None else '?'}, which has exited,"
    text += f" last {'posted' if post else 'signalled'} it"
    count = get_int(last, "count")
    if count == 1:
        text += " once"
    elif count is not None and count > 1:
        text += f" ({count} {'posts' if post else 'wake-ups'} in all)"
    text += f", with {call}"
    stack = last.get("stack")
    site = stack[0] if isinstance(stack, list) and stack and isinstance(stack[0], dict) else None
    line = get_int(site, "line")
    if get_str(site, "file") and line is not None and line > 0:
        text += f" at {get_str(site, 'file')}:{line}"
    elif get_str(site, "function"):
        text += f" in {get_str(site, 'function')}"
    waiters = get_int(last, "waiters") or 0
    text += (", while no thread waited:" if waiters == 0
             else f", while {waiters} thread{'' if waiters == 1 else 's'} waited:")
    return [text] + frame_lines(stack, "    ")


def evidence_text(report, wait):
    """For a condition variable or semaphore: who could still wake it
    ("signalled_by": null = nobody ever did; a thread id = the last one)."""
    if "signalled_by" not in wait:
        return ""
    by_id = wait["signalled_by"]
    if by_id is None:
        return " (no thread has ever signalled or posted it)"
    if isinstance(by_id, bool) or not isinstance(by_id, int):
        return ""
    by = report.thread(by_id)
    if by is None:
        return f" (last signalled by T{by_id}, which has exited)"
    exited = ", which has exited" if get_str(by, "state") == "exited" else ""
    return f" (last signalled by {describe_thread(by)}{exited})"



def syscall_text(call):
    """'in read on fd 3 (pipe:[4711])', as the shim's text report says it."""
    name = get_str(call, "name") or "a system call"
    text = f"in {name}"
    fd = call.get("fd")
    if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
        text += f" on fd {fd}"
        target = get_str(call, "fd_target")
        if target:
            text += f" ({target})"
    pid = call.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and pid:
        text += f" for pid {pid}" if pid > 0 else " for any child"
    timeout = call.get("timeout_ms")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 <= timeout < 1e15:
        text += f", timeout {duration_text(timeout)}"
    return text

def state_line(report, t):
    state = get_str(t, "state")
    if state == "exited":
        ended = get_number(t, "ended_ms_ago")
        if ended is not None and 0 <= ended < 1e15:
            return f"finished {duration_text(ended)} ago, never joined"
        return "finished, never joined"
    wait = get_dict(t, "wait")
    if wait is not None:
        call = get_str(wait, "call") or "?"
        text = "waiting (timed)" if get_true(wait, "timed") else "blocked"
        text += f" in {call}"
        through = get_str(wait, "through")
        if through:
            text += f" ({through})"
        name = None if is_join(call) else get_str(wait, "object_name")
        text += f" on {named_object(wait.get('object'), name)}"
        mutex = wait.get("mutex")
        if address_is_set(mutex):
            text += f" (mutex {named_object(mutex, get_str(wait, 'mutex_name'))})"
        owner = get_int(wait, "owner")
        if owner is not None:
            owner_thread = report.thread(owner)
            text += ", waiting for " if is_join(call) else ", owned by "
            text += describe_thread(owner_thread) if owner_thread else f"T{owner}"
            if owner_thread is not None and owner_thread is not t:
                # What the owner is doing: the next thing an on-call engineer asks.
                owner_wait = get_dict(owner_thread, "wait")
                if get_str(owner_thread, "state") == "exited":
                    text += " (exited)"
                elif owner_wait is not None:
                    text += (f" (itself {'waiting' if get_true(owner_wait, 'timed') else 'blocked'}"
                             f" in {get_str(owner_wait, 'call') or '?'}"
                             f" on {address_text(owner_wait.get('object'))})")
                else:
                    text += " (running)"
        else:
            other = get_dict(wait, "owner_process")
            other_tid, other_pid = get_int(other, "tid"), get_int(other, "pid")
            if other_tid:
                text += (f", owned by another process (thread {other_tid} of pid "
                         f"{other_pid if other_pid is not None else '?'})")
        waited = get_number(wait, "waited_ms")
        if waited is not None and 0 <= waited < 1e15:
            text += f" for {duration_text(waited)}"
        text += evidence_text(report, wait)
    elif isinstance(t.get("syscall"), dict):
        text = syscall_text(t["syscall"])
    else:
        text = "running (or in a call leakwatch does not see)"
    held = [h for h in get_list(t, "held") if isinstance(h, dict)]
    if not held:
        text += ", holding nothing"
    else:
        text += ", holding " + ", ".join(named_object(h.get("object"), get_str(h, "object_name"))
                                         for h in held)
    return text


def thread_block(report, t):
    lines = []
    tid = get_int(t, "tid")
    head = "  " + describe_thread(t) + f", tid {tid if tid is not None else '?'}"
    if get_true(t, "detached"):
        head += ", detached"
    lines.append(head + ": " + state_line(report, t))
    wait = get_dict(t, "wait")
    if wait is not None:
        lines.append("  blocking stack:")
        lines += frame_lines(wait.get("stack"), "    ")
        lines += last_signal_lines(report, wait)
    elif get_str(t, "state") == "running":
        lines.append("  current stack:")
        lines += frame_lines(t.get("stack"), "    ")
    for h in get_list(t, "held"):
        if not isinstance(h, dict):
            continue
        partial = " (call site only)" if get_true(h, "partial") or get_true(h, "stack_partial") else ""
        lines.append(f"  holds {named_object(h.get('object'), get_str(h, 'object_name'))}, "
                     f"taken by {get_str(h, 'call') or '?'}{partial}:")
        lines += frame_lines(h.get("stack"), "    ")
    if is_adopted_thread(t) and report.trigger == "attach":
        pass  # unknown from outside: the note at the top says so, once
    elif is_adopted_thread(t):
        lines.append("  created outside leakwatch's sight (before it started, or not by pthread_create)")
    elif not is_main_thread(t):
        parent_id = get_int(t, "parent")
        parent = report.thread(parent_id)
        who = describe_thread(parent) if parent else f"T{parent_id}"
        lines.append(f"  created by {who} at:")
        lines += frame_lines(t.get("create_stack"), "    ")
    return lines


def finding_count(f):
    count = get_int(f, "count")
    return count if count is not None and count >= 0 else 1


# Findings whose text shows one thread, the one the finding is about (the
# shim's `subject`, always threads[0]); the others show every thread they
# name. Only for reports that do not say (no `all_threads_shown`).
SUBJECT_KINDS = (KIND.THREAD_LEAK, KIND.UNJOINED_THREAD, KIND.LONG_WAIT)


def finding_threads(report, f):
    """The threads whose blocks follow a finding in the text."""
    ids = get_list(f, "threads")
    shown_all = f.get("all_threads_shown")
    if shown_all is not True and (shown_all is False or get_str(f, "kind") in SUBJECT_KINDS):
        ids = ids[:1]
    threads = (report.thread(i) for i in ids)
    return [t for t in threads if t is not None]


def object_text(event):
    """"0x55d0c0a04040 (queue_lock)": the object, with its data symbol."""
    text = address_text(event.get("object")) if "object" in event else "?"
    name = get_str(event, "object_name")
    return f"{text} ({name})" if name else text


def evidence_lines(f):
    """A finding's evidence as the shim's text writer prints it
    (write_events in src/report_text.c): each event under a heading that
    says what it is. Stacks that are their thread's are in its block
    instead; a wait adds a line only when its owner does not list the lock."""
    lines = []
    for event in get_list(f, "evidence"):
        if not isinstance(event, dict):
            continue
        role = get_str(event, "role")
        indent = "    "
        if role == "waits":
            if get_true(event, "owner_unlisted"):
                owner = get_int(event, "owner")
                lines.append(f"  T{owner if owner is not None else '?'} owns "
                             f"{get_str(event, 'object_kind') or 'lock'} {object_text(event)} "
                             "(glibc's owner field says so) but does not list it: leakwatch keeps "
                             f"{HELD_MAX} held locks a thread, so where it took this one, and its "
                             "stack, are not known")
            continue
        if role == "held":
            edge, thread_id = get_int(event, "edge"), get_int(event, "thread")
            lines.append(f"  edge {edge if edge is not None else '?'} of the cycle, in "
                         f"T{thread_id if thread_id is not None else '?'}: holding "
                         f"{object_text(event)}, taken at:")
            indent = "      "
        elif role == "taken":
            if not get_int(event, "edge"):
                continue  # an abandoned lock: in its thread's block
            lines.append(f"    took {object_text(event)} at:")
            indent = "      "
        elif role == "call":
            lines.append("  the call:")
        elif role == "earlier":
            lines.append(f"  {get_str(event, 'label') or 'before'}:")
        else:
            continue
        lines += frame_lines(event.get("stack"), indent)
    return lines


def summary_label(report):
    """What the summary says made the report: its trigger, or, for a live
    report of findings of one kind, that kind (SUMMARY (long_wait)). The
    live report's trigger is named after the deadlock kind."""
    kinds = {get_str(f, "kind") for f in report.findings}
    if report.trigger != KIND.DEADLOCK or len(kinds) != 1 or None in kinds:
        return report.trigger
    return kinds.pop()


def render_text(report):
    out = []
    pid = report.pid_text
    dump = report.trigger in ("dump", "attach")  # attach: a dump made by leakwatch-inspect
    # A report at a signal (the user gave up on a hang) lists every thread too.
    signal = get_str(report.data, "signal")
    dump = dump or bool(signal)
    if dump:
        # A dump shows every thread, then what is wrong.
        exe = get_str(report.data, "exe") or "?"
        alive = sum(1 for t in report.threads if get_str(t, "state") != "exited")
        uptime = get_number(report.data, "uptime_ms")
        uptime = uptime if uptime is not None and 0 <= uptime < 1e15 else 0
        head = f"{signal} arrived; the state of " if signal else "dump of "
        out.append(f"=={pid}== leakwatch: {head}{exe} (pid {pid}), {alive} threads, "
                   f"up {uptime / 1000.0:.1f} s" + (", before it dies of the signal" if signal else ""))
        out.append("")
        note = get_str(report.data, "note")
        if note:
            out += [f"=={pid}== leakwatch: {note}", ""]
        for t in report.threads:
            out += thread_block(report, t)
            out.append("")
    for f in report.findings:
        kind = get_str(f, "kind") or "?"
        message = get_str(f, "message") or ""
        out.append(f"=={pid}== leakwatch: {kind}: {message}")
        details = get_str(f, "details")
        if details:
            out += details.rstrip("\n").split("\n")
        else:
            out += evidence_lines(f)
        if not dump:
            for t in finding_threads(report, f):
                out += thread_block(report, t)
        out.append("")
    suppressed = get_int(report.data, "suppressed")
    suppressed = suppressed if suppressed is not None and suppressed > 0 else 0
    if not report.findings and not suppressed and not dump:
        return [escape_controls(line) for line in out]
    total = sum(finding_count(f) for f in report.findings)
    label = summary_label(report) + (f" {signal}" if signal else "")
    line = (f"=={pid}== leakwatch: SUMMARY ({label}): "
            f"{total} finding{'' if total == 1 else 's'}")
    kinds = {}
    for f in report.findings:
        kind = get_str(f, "kind") or "?"
        if kind in kinds or len(kinds) == 16:  # the shim names at most 16 kinds
            if kind in kinds:
                kinds[kind] += finding_count(f)
            continue
        kinds[kind] = finding_count(f)
    line += "".join(f"{':' if i == 0 else ','} {count} {kind}" for i, (kind, count) in enumerate(kinds.items()))
    if suppressed:
        line += f"; {suppressed} suppressed"
    out.append(line)
    return [escape_controls(line) for line in out]
