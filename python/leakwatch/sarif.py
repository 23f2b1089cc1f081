"""The report as SARIF 2.1.0 (OASIS Static Analysis Results Interchange
Format), the format GitHub code scanning and other CI viewers read.

The mapping (docs/reference.md, "SARIF"):
  - one rule per finding kind, from the generated table of src/finding.h:
    id = name, shortDescription = label, fullDescription and help = help,
    defaultConfiguration.level = level;
  - one result per finding: ruleId, ruleIndex, level, message = message,
    occurrenceCount = count;
  - locations[0]: the finding's `location` frame; without one, the first
    frame with a source line of its evidence, then of its threads' stacks;
    no location at all when no frame has a line (SARIF allows that);
  - relatedLocations: each evidence event's first user frame, with what
    happened there in the sentences of the shim's own SARIF writer
    (src/report_sarif.c: "edge 1: T2 took mutex 0x... here"), then each
    named thread's wait and creation site that the evidence does not give;
  - stacks: every evidence stack whole (SARIF's own place for call stacks),
    and codeFlows: one threadFlow per evidence stack, outermost frame first,
    for viewers that show "paths".
A file under --srcroot is given relative to it, with uriBaseId SRCROOT and
SRCROOT in originalUriBaseIds; any other absolute file is a file:// URI.

Like the other renderers it formats only: every field may be missing or of
any type (reportdata's accessors), and nothing is decided here that the
report does not say.
"""
import os
import urllib.parse

from . import constants
from .reportdata import address_text, get_dict, get_int, get_list, get_str

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "SRCROOT"

# Modules whose frames are the runtime, not the program: a "user frame" is
# the first frame with a source line outside them.
RUNTIME_MODULES = ("libc.so", "libpthread.so", "ld-linux", "libstdc++.so", "libgcc_s.so",
                   "libleakwatch.so")


def rules():
    """One rule per finding kind, in the table's order (ruleIndex is the
    position in this list)."""
    result = []
    for kind in constants.FINDING_KINDS:
        result.append({
            "id": kind.name,
            "name": "".join(word.capitalize() for word in kind.name.split("_")),
            "shortDescription": {"text": kind.label},
            "fullDescription": {"text": kind.help},
            "help": {"text": kind.help},
            "defaultConfiguration": {"level": kind.level},
        })
    return result


class Uris:
    """File names as SARIF artifact locations, relative to --srcroot where
    they are under it."""

    def __init__(self, srcroot):
        self.srcroot = os.path.realpath(srcroot) if srcroot else None

    def base_ids(self):
        if self.srcroot is None:
            return None
        root = self.srcroot.rstrip("/") + "/"
        return {SRCROOT: {"uri": "file://" + urllib.parse.quote(root)}}

    def artifact(self, file):
        path = os.path.normpath(file)
        if self.srcroot is not None and os.path.isabs(path):
            # Symbolic links in the build's paths are resolved like the root.
            real = os.path.realpath(path)
            for candidate in (path, real):
                rel = os.path.relpath(candidate, self.srcroot)
                if rel != ".." and not rel.startswith("../") and rel != ".":
                    return {"uri": urllib.parse.quote(rel), "uriBaseId": SRCROOT}
        if os.path.isabs(path):
            return {"uri": "file://" + urllib.parse.quote(path)}
        # A relative name from the debug information (relative to a
        # compilation directory the report does not give): kept as it is.
        return {"uri": urllib.parse.quote(path)}


def has_line(frame):
    """A frame SARIF can point at: a line of a file named by an absolute
    path. Debug information names some files relative to a build directory
    it does not give (glibc's "./nptl/pthread_create.c"): no URI reaches
    those."""
    line = get_int(frame, "line")
    file = get_str(frame, "file")
    return file is not None and file.startswith("/") and line is not None and line > 0


def is_runtime(frame):
    module = os.path.basename(get_str(frame, "module") or "")
    return any(module.startswith(name) for name in RUNTIME_MODULES)


def user_frame(frames):
    """The frame a user would open: the first with a source line outside
    the C and C++ runtimes (and the shim), else the first with a line."""
    with_line = [f for f in frames if isinstance(f, dict) and has_line(f)]
    for frame in with_line:
        if not is_runtime(frame):
            return frame
    return with_line[0] if with_line else None


def location(uris, frame, message=None, id=None):
    """A SARIF location for one frame: physical (file:line) when it has a
    line, logical (the function) when it has a name; None otherwise."""
    loc = {}
    if id is not None:
        loc["id"] = id
    if has_line(frame):
        loc["physicalLocation"] = {
            "artifactLocation": uris.artifact(get_str(frame, "file")),
            "region": {"startLine": get_int(frame, "line")},
        }
    function = get_str(frame, "function")
    if function:
        loc["logicalLocations"] = [{"fullyQualifiedName": function, "kind": "function"}]
    if len(loc) == (1 if id is not None else 0):
        return None
    if message:
        loc["message"] = {"text": message}
    return loc


def thread_name(thread_id):
    if isinstance(thread_id, bool) or not isinstance(thread_id, int):
        return "T?"
    return f"T{thread_id}"


def call_object_name(call):
    """"mutex", "condition variable"...: what `call` waits on (calls.h)."""
    return dict(constants.OBJECTS).get(constants.call_object(call), "object")


def event_message(event):
    """One sentence saying what happened where the event's stack points:
    the sentences of the shim's own SARIF writer (src/report_sarif.c), so
    `sarif_path=` and `leakwatch report --format sarif` say the same."""
    thread_id = get_int(event, "thread")
    who = f"T{thread_id}" if thread_id is not None else "T?"
    role = get_str(event, "role")
    call = get_str(event, "call")
    obj = f"{get_str(event, 'object_kind') or 'object'} {address_text(event.get('object'))}"
    edge = get_int(event, "edge")
    if role == "waits":
        text = f"{who} waits in {call or '?'} on {obj}"
        owner = get_int(event, "owner")
        if owner is not None:
            text += f", held by T{owner}"
        return text
    if role == "held":
        return f"edge {edge if edge is not None else '?'}: {who} took {obj} here"
    if role == "taken":
        if edge:
            return f"edge {edge}: then {who} took {obj} here"
        return f"{who} took {obj} here and never released it"
    if role == "call":
        return f"{who} calls {call or 'the function'} here"
    if role == "earlier":
        return get_str(event, "label") or "earlier"
    return ""


def evidence_events(finding):
    return [e for e in get_list(finding, "evidence") if isinstance(e, dict)]


def thread_stacks(report, finding):
    """(thread id, message, frames) of the named threads' own stacks, most
    telling first: where it waits, where it runs, what it holds, where it
    was created."""
    out = []
    for thread_id in get_list(finding, "threads"):
        t = report.thread(thread_id)
        if t is None:
            continue
        who = thread_name(thread_id)
        wait = get_dict(t, "wait")
        if wait is not None:
            # The shim's sentence for a wait event, from the thread's record.
            call = get_str(wait, "call")
            text = f"{who} waits in {call or '?'} on {call_object_name(call)} " \
                   f"{address_text(wait.get('object'))}"
            owner = get_int(wait, "owner")
            if owner is not None:
                text += f", held by T{owner}"
            out.append((thread_id, "waits", text, get_list(wait, "stack")))
        if get_str(t, "state") == "running":
            out.append((thread_id, "runs", f"{who} runs here", get_list(t, "stack")))
        for held in get_list(t, "held"):
            if isinstance(held, dict):
                call = get_str(held, "call")
                out.append((thread_id, "held", f"{who} took {call_object_name(call)} "
                            f"{address_text(held.get('object'))} here", get_list(held, "stack")))
        parent = get_int(t, "parent")
        creator = f" by {thread_name(parent)}" if parent is not None else ""
        out.append((thread_id, "created", f"{who} was created here{creator}",
                    get_list(t, "create_stack")))
    return out


def stack_object(uris, message, frames, thread_id):
    """A SARIF stack: every frame, innermost first, as the report has it."""
    sarif_frames = []
    for frame in frames:
        if not isinstance(frame, dict):
            continue
        loc = location(uris, frame) or {}
        entry = {"location": loc} if loc else {}
        module = get_str(frame, "module")
        if module:
            entry["module"] = module
        if isinstance(thread_id, int) and not isinstance(thread_id, bool):
            entry["threadId"] = thread_id
        pc = frame.get("pc")
        if isinstance(pc, str):
            entry["properties"] = {"pc": pc}
        sarif_frames.append(entry)
    return {"message": {"text": message}, "frames": sarif_frames}


def thread_flow(uris, message, frames, thread_id):
    """A threadFlow: the stack's frames with a source line, outermost first
    (the order the program ran them), the last one where the event is."""
    steps = [f for f in frames if isinstance(f, dict) and has_line(f)]
    # The runtime's own frames (start_thread, __lll_lock_wait) carry paths
    # of glibc's build tree no viewer can open: left out when others remain.
    steps = [f for f in steps if not is_runtime(f)] or steps
    steps.reverse()
    locations = []
    for depth, frame in enumerate(steps):
        loc = location(uris, frame, message if depth == len(steps) - 1 else None)
        locations.append({"location": loc, "nestingLevel": depth})
    if not locations:
        return None
    flow = {"message": {"text": message}, "locations": locations}
    if isinstance(thread_id, int) and not isinstance(thread_id, bool):
        flow["id"] = f"T{thread_id}"
    return flow


def result_for(report, finding, uris, rule_index):
    kind = get_str(finding, "kind") or "?"
    info = constants.KINDS_BY_NAME.get(kind)
    result = {"ruleId": kind}
    if kind in rule_index:
        result["ruleIndex"] = rule_index[kind]
    result["level"] = info.level if info else "warning"
    result["message"] = {"text": get_str(finding, "message") or kind}
    count = get_int(finding, "count")
    if count is not None and count > 1:
        result["occurrenceCount"] = count

    events = evidence_events(finding)
    stacks = [(event.get("thread"), event_message(event), get_list(event, "stack"))
              for event in events]
    # What the threads' own records add: a wait the evidence has not got
    # (a report written before `evidence`, or a kind without it), and where
    # each thread was created.
    evidence_waits = {e.get("thread") for e in events if get_str(e, "role") == "waits"}
    own = [(tid, what, message, frames) for tid, what, message, frames
           in thread_stacks(report, finding)
           if not (what == "waits" and tid in evidence_waits) and (what != "held" or not events)]
    extra = [(tid, message, frames) for tid, _, message, frames in own]
    # Stacks and flows: the evidence's, and the waits it does not cover.
    flow_stacks = stacks + [(tid, message, frames) for tid, what, message, frames in own
                            if what == "waits"]

    primary = get_dict(finding, "location")
    if primary is None or not has_line(primary):
        candidates = [user_frame(frames) for _, _, frames in stacks + extra]
        candidates = [frame for frame in candidates if frame is not None]
        primary = next((f for f in candidates if not is_runtime(f)),
                       candidates[0] if candidates else None)
    if primary is not None:
        loc = location(uris, primary)
        if loc is not None:
            result["locations"] = [loc]

    related = []
    for tid, message, frames in stacks + extra:
        frame = user_frame(frames)
        if frame is None:
            continue
        loc = location(uris, frame, message, id=len(related) + 1)
        if loc is not None:
            related.append(loc)
    if related:
        result["relatedLocations"] = related

    sarif_stacks = [stack_object(uris, message, frames, tid)
                    for tid, message, frames in flow_stacks if frames]
    if sarif_stacks:
        result["stacks"] = sarif_stacks
    flows = [flow for flow in (thread_flow(uris, message, frames, tid)
                               for tid, message, frames in flow_stacks) if flow]
    if flows:
        result["codeFlows"] = [{"message": {"text": result["message"]["text"]},
                                "threadFlows": flows}]
    return result


def sarif_log(report, srcroot=None):
    """The SARIF log (a dict) of a loaded report (reportdata.Report)."""
    uris = Uris(srcroot)
    rule_list = rules()
    rule_index = {rule["id"]: i for i, rule in enumerate(rule_list)}
    driver = {"name": "leakwatch", "version": constants.VERSION,
              "semanticVersion": constants.VERSION, "rules": rule_list}
    if constants.HOMEPAGE:  # CMake's project(HOMEPAGE_URL)
        driver["informationUri"] = constants.HOMEPAGE
    run = {"tool": {"driver": driver}}
    base_ids = uris.base_ids()
    if base_ids:
        run["originalUriBaseIds"] = base_ids
    # As the shim's writer has it: what made the report, in the invocation.
    invocation = {"executionSuccessful": True}
    when = get_str(report.data, "time")
    if when:
        invocation["endTimeUtc"] = when
    invocation["properties"] = {"trigger": report.trigger, "pid": get_int(report.data, "pid"),
                                "exe": get_str(report.data, "exe"),
                                "suppressed": get_int(report.data, "suppressed") or 0}
    run["invocations"] = [invocation]
    run["results"] = [result_for(report, f, uris, rule_index) for f in report.findings]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
