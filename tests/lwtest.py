"""Helpers shared by the test cases: run a program under the shim and read
its report (the JSON of SPEC section 4, and the text on stderr)."""
import json
import os
import pathlib
import subprocess
import tempfile

SOURCE = pathlib.Path(os.environ.get("LEAKWATCH_SOURCE", pathlib.Path(__file__).resolve().parent.parent))
BUILD = pathlib.Path(os.environ.get("LEAKWATCH_BUILD", SOURCE / "build"))
LIB = BUILD / "libleakwatch.so"
PROGRAMS = BUILD / "tests" / "programs"


def program(name):
    path = PROGRAMS / name
    assert path.exists(), f"test program {path} not built"
    return str(path)


class Result:
    """What one run produced."""

    def __init__(self, returncode, stdout, stderr, report, json_files):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.report = report          # the JSON report of the process itself, or None
        self.json_files = json_files  # every JSON file written (children of fork too)

    def findings(self, kind=None):
        if not self.report:
            return []
        return [f for f in self.report["findings"] if kind is None or f["kind"] == kind]

    def thread(self, thread_id):
        for t in self.report["threads"]:
            if t["id"] == thread_id:
                return t
        raise AssertionError(f"no thread T{thread_id} in the report")

    def threads_started_by(self, function):
        return [t for t in self.report["threads"] if t.get("start") == function]

    def __repr__(self):
        return (f"Result(returncode={self.returncode}, stdout={self.stdout[-2000:]!r}, "
                f"stderr={self.stderr[-4000:]!r})")


def run(argv, options=None, env=None, timeout=60, preload=True, stdin=None):
    """Run argv under the shim with LEAKWATCH_OPTIONS built from `options`
    (a dict); a json_path in a fresh directory is added unless given."""
    options = dict(options or {})
    tmp = tempfile.mkdtemp(prefix="lwtest-")
    options.setdefault("json_path", os.path.join(tmp, "report-%p.json"))
    full_env = dict(os.environ)
    full_env.pop("LEAKWATCH_OPTIONS", None)
    if preload:
        full_env["LD_PRELOAD"] = str(LIB)
    full_env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())
    full_env.update(env or {})
    proc = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace",  # thread names are bytes
                            stdin=stdin if stdin is not None else subprocess.DEVNULL)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"{argv} did not finish in {timeout} s; stderr: {stderr[-3000:]}")
    reports = {}
    for path in pathlib.Path(tmp).glob("*.json"):
        with open(path) as f:
            data = json.load(f)  # must parse: a JSON report is whole or absent
        reports[data["pid"]] = data
        check_schema(data)
    # The process's own report; forked children's are in json_files.
    own = reports.get(proc.pid)
    return Result(proc.returncode, stdout, stderr, own, reports)


FRAME_KEYS = {"pc", "function", "offset", "module"}


def check_frames(frames):
    assert isinstance(frames, list)
    for frame in frames:
        assert FRAME_KEYS <= frame.keys(), frame
        assert frame["pc"].startswith("0x"), frame
        assert isinstance(frame["offset"], int)
        if "line" in frame:
            assert isinstance(frame["line"], int) and frame["line"] > 0 and isinstance(frame["file"], str)


def check_schema(report):
    """Every field SPEC section 4 names, with its type."""
    assert report["schema"] == "leakwatch-report/1"
    assert report["trigger"] in ("exit", "dump", "deadlock", "verify")
    assert isinstance(report["pid"], int) and isinstance(report["exe"], str)
    assert isinstance(report["time"], str) and report["time"].endswith("Z")
    assert isinstance(report["suppressed"], int)
    ids = set()
    for t in report["threads"]:
        for key in ("id", "tid", "name", "start", "parent", "detached", "state", "create_stack", "held"):
            assert key in t, (key, t)
        assert t["state"] in ("blocked", "running", "exited")
        ids.add(t["id"])
        check_frames(t["create_stack"])
        if "wait" in t:
            w = t["wait"]
            for key in ("call", "object", "waited_ms", "stack"):
                assert key in w, (key, w)
            assert w["object"].startswith("0x")
            check_frames(w["stack"])
        for h in t["held"]:
            assert h["object"].startswith("0x") and isinstance(h["call"], str)
            check_frames(h["stack"])
    for f in report["findings"]:
        assert f["kind"] in ("thread_leak", "unjoined_thread", "deadlock", "lock_order_inversion",
                             "abandoned_lock", "long_wait", "misuse"), f
        assert isinstance(f["message"], str) and f["message"]
        for thread_id in f["threads"]:
            assert thread_id in ids, (thread_id, f)
        # Evidence as data: every thread an event names is in threads[] too.
        for e in f.get("evidence", []):
            assert e["role"] in ("waits", "held", "taken", "call", "earlier"), e
            for key in ("thread", "owner"):
                if key in e:
                    assert e[key] in ids, (key, e, f)
            if "object" in e:
                assert e["object"].startswith("0x"), e
            check_frames(e["stack"])
        if "location" in f:
            check_frames([f["location"]])
            assert "file" in f["location"], f["location"]


def functions(frames):
    return [f.get("function") for f in frames]


def assert_in_stack(frames, function, file=None):
    """`function` appears in `frames` (and, if given, with a file ending in `file`)."""
    for frame in frames:
        if frame.get("function") == function and (file is None or str(frame.get("file", "")).endswith(file)):
            return frame
    raise AssertionError(f"{function} not in stack {functions(frames)}")


def assert_clean(result, expected_status=0):
    """No findings, no report text, the program's own exit status."""
    assert result.returncode == expected_status, result
    assert "leakwatch:" not in result.stderr, result
    if result.report:
        assert result.report["findings"] == [], result.report["findings"]


# --- shared by the case files ---------------------------------------------

SHIM = "libleakwatch"

def addresses(stdout):
    """The "<label> 0x..." lines a program prints, as {label: "0x..."}."""
    found = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("0x"):
            found[parts[0]] = parts[1]
    return found



def reported_ids(result):
    return sorted(i for f in result.findings() for i in f["threads"])



def leak_of(result, thread_id, kind="thread_leak"):
    """The one finding of `kind` that names `thread_id`."""
    matches = [f for f in result.findings(kind) if thread_id in f["threads"]]
    assert len(matches) == 1, (thread_id, result.findings())
    return matches[0]



def assert_no_shim_frames(frames):
    for frame in frames:
        assert SHIM not in str(frame.get("module", "")), f"shim frame in {functions(frames)}"




def assert_clean_and_unchanged(argv, status=0, options=None):
    """Under the shim: no findings, and the same stdout and status as without."""
    shimmed = run(argv, options=options)
    plain = run(argv, preload=False)
    assert_clean(shimmed, status)
    assert plain.returncode == status, plain
    assert shimmed.stdout == plain.stdout, (shimmed.stdout, plain.stdout)
    assert shimmed.report is not None  # the run was really watched
    return shimmed
