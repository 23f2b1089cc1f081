"""The report as a Graphviz graph: threads (boxes) wait for objects
(ellipses) held by threads; a deadlock's cycle in red."""
from .constants import KIND, call_object, is_join
from .reportdata import (address_text, escape_controls, get_dict, get_int, get_list, get_str,
                         is_main_thread)


def dot_quote(text):
    """A double-quoted DOT string; newlines in the data stay visible as \\n
    only where we put them (callers pass lines, we join with \\n). Control
    characters are escaped first, as in the text."""
    return '"' + escape_controls(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_label(lines):
    return '"' + "\\n".join(dot_quote(line)[1:-1] for line in lines) + '"'


# How the graph labels what a call waits on (calls.h's objects); a call
# the table does not have, or a futex, is an "object".
DOT_OBJECT_LABELS = {"MUTEX": "mutex", "RWLOCK": "rwlock", "COND": "cond", "SEM": "sem",
                     "BARRIER": "barrier", "THREAD": "thread-join"}


def object_kind(call):
    return DOT_OBJECT_LABELS.get(call_object(call), "object")


def is_join_call(call):
    return is_join(call)


def render_dot(report):
    deadlocked = set()
    for f in report.findings:
        if get_str(f, "kind") == KIND.DEADLOCK:
            for tid in get_list(f, "threads"):
                if isinstance(tid, int) and not isinstance(tid, bool):
                    deadlocked.add(tid)

    thread_nodes = []  # (node id, thread id or None, thread)
    node_of_thread = {}
    for index, t in enumerate(report.threads):
        tid = get_int(t, "id")
        node = f"T{tid}" if tid is not None else f"thread#{index}"
        if tid is not None and tid in node_of_thread:
            node = f"T{tid}#{index}"
        elif tid is not None:
            node_of_thread[tid] = node
        thread_nodes.append((node, tid, t))

    objects = {}  # node id -> label
    waits = []    # (thread node, target node, target is a thread, waiter id, object node)
    holds = []    # (object node, thread node, holder id)
    for node, tid, t in thread_nodes:
        wait = get_dict(t, "wait")
        if wait is not None:
            call = get_str(wait, "call") or ""
            owner = get_int(wait, "owner")
            if is_join_call(call) and owner is not None and owner in node_of_thread:
                waits.append((node, node_of_thread[owner], True, tid, None))
            else:
                obj = address_text(wait.get("object"))
                obj_node = "obj:" + obj
                objects.setdefault(obj_node, f"{object_kind(call)} {obj}")
                waits.append((node, obj_node, False, tid, obj_node))
                if owner is not None and owner in node_of_thread:
                    holds.append((obj_node, node_of_thread[owner], owner))
        for h in get_list(t, "held"):
            if not isinstance(h, dict):
                continue
            obj = address_text(h.get("object"))
            obj_node = "obj:" + obj
            objects.setdefault(obj_node, f"{object_kind(get_str(h, 'call'))} {obj}")
            holds.append((obj_node, node, tid))
    holds = list(dict.fromkeys(holds))  # the owner may also be listed in `held`

    holders_of = {}
    for obj_node, _, holder in holds:
        holders_of.setdefault(obj_node, set()).add(holder)
    waiters_of = {}
    for _, target, to_thread, waiter, obj_node in waits:
        if obj_node is not None:
            waiters_of.setdefault(obj_node, set()).add(waiter)

    red = ", color=red, penwidth=2"
    exe = get_str(report.data, "exe") or "?"
    out = ["digraph leakwatch {",
           f"  graph [rankdir=LR, labelloc=t, label={dot_quote(f'leakwatch: {exe} (pid {report.pid_text}), {report.trigger}')}];",
           '  node [fontname="monospace"];',
           '  edge [fontname="monospace"];']
    for node, tid, t in thread_nodes:
        lines = [f"T{tid if tid is not None else '?'}" + (f" '{get_str(t, 'name')}'" if get_str(t, "name") else "")]
        start = get_str(t, "start")
        if start is not None:
            lines.append(f"({start})")
        elif is_main_thread(t):
            lines.append("(main thread)")
        lines.append(get_str(t, "state") or "?")
        style = red if tid is not None and tid in deadlocked else ""
        out.append(f"  {dot_quote(node)} [shape=box, label={dot_label(lines)}{style}];")
    for obj_node, label in objects.items():
        involved = (waiters_of.get(obj_node, set()) & deadlocked) and \
            (not holders_of.get(obj_node) or holders_of.get(obj_node, set()) & deadlocked)
        out.append(f"  {dot_quote(obj_node)} [shape=ellipse, label={dot_label([label])}"
                   f"{red if involved else ''}];")
    for node, target, to_thread, waiter, obj_node in waits:
        if to_thread:
            target_tid = next((tid for n, tid, _ in thread_nodes if n == target), None)
            in_cycle = waiter in deadlocked and target_tid in deadlocked
        else:
            holders = holders_of.get(obj_node, set())
            in_cycle = waiter in deadlocked and (not holders or bool(holders & deadlocked))
        out.append(f"  {dot_quote(node)} -> {dot_quote(target)} [label=\"waits for\"{red if in_cycle else ''}];")
    for obj_node, node, holder in holds:
        in_cycle = holder in deadlocked and bool(waiters_of.get(obj_node, set()) & deadlocked)
        out.append(f"  {dot_quote(obj_node)} -> {dot_quote(node)} [label=\"held by\"{red if in_cycle else ''}];")
    out.append("}")
    return out


# json.dumps escapes C0 but leaves DEL and C1 raw with ensure_ascii=False;
