"""Cases for `leakwatch report --format sarif` (issue 20 part 2): SARIF
2.1.0 with one rule per finding kind and one result per finding at its
source line.

Hand-made reports in the JSON schema (docs/reference.md, with `location`
and `evidence`) pin the mapping down field by field; reports of real runs
(tests/programs) check that what the shim writes maps too. The structure
is checked by hand: the official schema is not on the machine, and tests
fetch nothing. With LEAKWATCH_SARIF_SCHEMA naming a local copy of it and
the jsonschema module installed, every log is also validated against it.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import lwtest
from lwtest import program, run

SRCROOT = "/src/app"
APP = "/src/app/build/app"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def package():
    """The command's package, as the build tree lays it out."""
    path = str(lwtest.BUILD / "python")
    if path not in sys.path:
        sys.path.insert(0, path)
    import leakwatch.constants
    import leakwatch.reportdata
    import leakwatch.sarif
    return leakwatch


def frame(function, file=None, line=None, module=APP, pc="0x401000"):
    f = {"pc": pc, "function": function, "offset": 16, "module": module}
    if file is not None:
        f["file"], f["line"] = file, line
    return f


def thread(id, name, state="blocked", parent=0, wait=None, create_line=60):
    t = {"id": id, "tid": 100 + id, "name": name, "start": name, "parent": parent,
         "detached": False, "state": state, "held": [],
         "create_stack": [frame("main", f"{SRCROOT}/src/main.c", create_line)]}
    if wait:
        t["wait"] = wait
    return t


def report(findings, threads=None):
    return {"schema": "leakwatch-report/1", "trigger": "deadlock", "pid": 4242, "exe": APP,
            "time": "2026-12-05T12:00:00Z", "suppressed": 0,
            "threads": threads if threads is not None else [
                {"id": 0, "tid": 100, "name": "app", "start": None, "parent": None,
                 "detached": False, "state": "running", "held": [], "create_stack": []}],
            "findings": findings}


def lock_wait(thread_id, obj, name, owner, line):
    return {"role": "waits", "thread": thread_id, "call": "pthread_mutex_lock", "object": obj,
            "object_kind": "mutex", "object_name": name, "owner": owner, "waited_ms": 1200,
            "stack": [frame("__lll_lock_wait", "./nptl/lowlevellock.c", 49, module=LIBC),
                      frame("take_second", f"{SRCROOT}/src/bank.c", line),
                      frame("forward", f"{SRCROOT}/src/bank.c", 44),
                      frame("start_thread", "./nptl/pthread_create.c", 442, module=LIBC)]}


DEADLOCK = {
    "kind": "deadlock", "threads": [1, 2], "count": 1,
    "message": "2 threads wait for each other: T1 -> mutex 0x5000 held by T2 -> mutex 0x4000 held by T1",
    "location": frame("take_second", f"{SRCROOT}/src/bank.c", 37),
    "evidence": [lock_wait(1, "0x5000", "lock_b", 2, 37), lock_wait(2, "0x4000", "lock_a", 1, 38)],
}


def lock_event(role, thread_id, obj, edge, function, line):
    return {"role": role, "thread": thread_id, "call": "pthread_mutex_lock", "object": obj,
            "object_kind": "mutex", "edge": edge, "stack": [frame(function, f"{SRCROOT}/src/order.c", line),
                                    frame("worker", f"{SRCROOT}/src/order.c", 80)]}


# No `location`: the result falls back to the evidence's first user frame.
INVERSION = {
    "kind": "lock_order_inversion", "threads": [2, 1], "count": 3,
    "message": "2 locks taken in conflicting orders: T2 took 0xa then 0xb; T1 took 0xb then 0xa",
    "evidence": [lock_event("held", 2, "0xa", 1, "take_first", 31),
                 lock_event("taken", 2, "0xb", 1, "take_second", 37),
                 lock_event("held", 1, "0xb", 2, "take_first", 31),
                 lock_event("taken", 1, "0xa", 2, "take_second", 37)],
}


def sarif_of(data, srcroot=SRCROOT):
    lw = package()
    log = lw.sarif.sarif_log(lw.reportdata.Report(data), srcroot=srcroot)
    json.dumps(log)  # all of it serialisable
    validate_if_possible(log)
    return log


def validate_if_possible(log):
    schema_path = os.environ.get("LEAKWATCH_SARIF_SCHEMA")
    if not schema_path:
        return
    import jsonschema
    with open(schema_path) as f:
        jsonschema.validate(log, json.load(f))


def check_structure(log, srcroot=True):
    """The properties SARIF 2.1.0 requires, and the ones this mapping
    promises; returns the run."""
    lw = package()
    assert log["version"] == "2.1.0", log.get("version")
    assert log["$schema"].startswith("https://") and "sarif-2.1.0" in log["$schema"], log["$schema"]
    assert len(log["runs"]) == 1
    run_ = log["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "leakwatch" and driver["version"] == lw.constants.VERSION, driver
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [k.name for k in lw.constants.FINDING_KINDS], rules
    for rule, kind in zip(rules, lw.constants.FINDING_KINDS):
        assert rule["shortDescription"]["text"] == kind.label, rule
        assert rule["fullDescription"]["text"] == kind.help == rule["help"]["text"], rule
        assert rule["defaultConfiguration"]["level"] == kind.level, rule
        assert kind.level in ("error", "warning", "note"), kind
    if srcroot:
        base = run_["originalUriBaseIds"]["SRCROOT"]["uri"]
        assert base.startswith("file:///") and base.endswith("/"), base
    for result in run_["results"]:
        index = result["ruleIndex"]
        assert rules[index]["id"] == result["ruleId"], (index, result["ruleId"])
        assert result["level"] == rules[index]["defaultConfiguration"]["level"], result
        assert result["message"]["text"], result
        for loc in result.get("locations", []) + result.get("relatedLocations", []):
            physical = loc.get("physicalLocation")
            if physical is None:
                continue
            artifact = physical["artifactLocation"]
            if artifact.get("uriBaseId") == "SRCROOT":
                assert not artifact["uri"].startswith("/") and "://" not in artifact["uri"], artifact
            assert isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] > 0
        ids = [loc["id"] for loc in result.get("relatedLocations", [])]
        assert len(ids) == len(set(ids)), ids
    return run_


def test_rules_are_the_finding_kinds_of_the_c_table():
    """Rule ids, labels, levels and help come from src/finding.h (generated),
    not from a copy: read the header here and compare."""
    header = (lwtest.SOURCE / "src" / "finding.h").read_text()
    table = re.findall(r'X\((\w+), "(\w+)", "([^"]+)", "(\w+)",', header)
    assert len(table) >= 7, table
    log = sarif_of(report([]))
    rules = check_structure(log)["tool"]["driver"]["rules"]
    assert [(r["id"], r["shortDescription"]["text"], r["defaultConfiguration"]["level"])
            for r in rules] == [(name, label, level) for _, name, label, level in table], rules


def test_deadlock_result_at_its_location():
    log = sarif_of(report([DEADLOCK], threads=[
        thread(1, "teller"), thread(2, "auditor", create_line=61)]))
    run_ = check_structure(log)
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///src/app/"
    (result,) = run_["results"]
    assert result["ruleId"] == "deadlock" and result["level"] == "error", result
    assert result["message"]["text"] == DEADLOCK["message"]
    (loc,) = result["locations"]
    assert loc["physicalLocation"] == {"artifactLocation": {"uri": "src/bank.c", "uriBaseId": "SRCROOT"},
                                       "region": {"startLine": 37}}, loc
    assert loc["logicalLocations"] == [{"fullyQualifiedName": "take_second", "kind": "function"}]
    related = result["relatedLocations"]
    messages = [r["message"]["text"] for r in related]
    # Each wait at its first user frame (not glibc's __lll_lock_wait).
    assert messages[:2] == ["T1 waits in pthread_mutex_lock on mutex 0x5000, held by T2",
                            "T2 waits in pthread_mutex_lock on mutex 0x4000, held by T1"], messages
    assert [r["physicalLocation"]["region"]["startLine"] for r in related[:2]] == [37, 38]
    # Then where each thread was created.
    assert messages[2:] == ["T1 was created here by T0", "T2 was created here by T0"]
    assert [r["physicalLocation"]["artifactLocation"]["uri"] for r in related[2:]] == ["src/main.c"] * 2
    # One thread flow per evidence stack, outermost frame first, glibc's left out.
    (flow,) = result["codeFlows"]
    flows = flow["threadFlows"]
    assert [f["id"] for f in flows] == ["T1", "T2"], flows
    steps = [(s["location"]["logicalLocations"][0]["fullyQualifiedName"],
              s["location"]["physicalLocation"]["region"]["startLine"]) for s in flows[0]["locations"]]
    assert steps == [("forward", 44), ("take_second", 37)], steps
    assert [s["nestingLevel"] for s in flows[0]["locations"]] == [0, 1]
    # The stacks whole, innermost first, glibc's frames included.
    stacks = result["stacks"]
    assert len(stacks) == 2 and len(stacks[0]["frames"]) == 4, stacks
    assert stacks[0]["frames"][0]["module"] == LIBC and stacks[0]["frames"][0]["threadId"] == 1


def test_lock_order_without_location_uses_its_evidence():
    log = sarif_of(report([INVERSION], threads=[
        thread(1, "forward", state="exited"), thread(2, "backward", state="exited")]))
    (result,) = check_structure(log)["results"]
    assert result["ruleId"] == "lock_order_inversion" and result["level"] == "warning", result
    assert result["occurrenceCount"] == 3, result
    (loc,) = result["locations"]
    assert loc["physicalLocation"]["artifactLocation"] == {"uri": "src/order.c", "uriBaseId": "SRCROOT"}
    assert loc["physicalLocation"]["region"]["startLine"] == 31
    messages = [r["message"]["text"] for r in result["relatedLocations"]]
    assert messages[:4] == ["edge 1: T2 took mutex 0xa here", "edge 1: then T2 took mutex 0xb here",
                            "edge 2: T1 took mutex 0xb here", "edge 2: then T1 took mutex 0xa here"], \
        messages
    assert [r["physicalLocation"]["region"]["startLine"] for r in result["relatedLocations"][:4]] == \
        [31, 37, 31, 37]
    assert len(result["codeFlows"][0]["threadFlows"]) == 4


def test_misuse_call_and_earlier():
    misuse = {"kind": "misuse", "threads": [0, 1], "count": 1,
              "message": "T0 unlocks 0x7000, which T1 holds",
              "evidence": [
                  {"role": "call", "thread": 0, "call": "pthread_mutex_unlock", "object": "0x7000",
                   "stack": [frame("pthread_mutex_unlock", module=LIBC),
                             frame("release", f"{SRCROOT}/src/misuse.c", 12)]},
                  {"role": "earlier", "thread": 1, "call": "pthread_mutex_lock", "object": "0x7000",
                   "label": "where the holder took it", "stack": [frame("grab", f"{SRCROOT}/src/misuse.c", 7)]}]}
    (result,) = check_structure(sarif_of(report([misuse], threads=[
        thread(0, "main", state="running"), thread(1, "holder")])))["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    messages = [r["message"]["text"] for r in result["relatedLocations"]]
    assert messages[:2] == ["T0 calls pthread_mutex_unlock here", "where the holder took it"], messages


def test_uris_without_srcroot_and_outside_it():
    header = "/usr/include/c++/12/bits/std_mutex.h"
    finding = dict(DEADLOCK, location=frame("lock", header, 100))
    log = sarif_of(report([finding]), srcroot=None)
    run_ = check_structure(log, srcroot=False)
    assert "originalUriBaseIds" not in run_
    result = run_["results"][0]
    # Absolute file URIs, percent-encoded ('+' is not allowed raw in a path).
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "file:///usr/include/c%2B%2B/12/bits/std_mutex.h"}, result["locations"]
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "file:///src/app/src/bank.c"}
    # With a srcroot: a file outside it stays absolute, one inside is relative.
    run_ = check_structure(sarif_of(report([finding]), srcroot=SRCROOT))
    result = run_["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "file:///usr/include/c%2B%2B/12/bits/std_mutex.h"}
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "src/bank.c", "uriBaseId": "SRCROOT"}
    # A prefix of a directory name is not "under" it.
    run_ = check_structure(sarif_of(report([finding]), srcroot="/src/ap"))
    assert run_["results"][0]["relatedLocations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "file:///src/app/src/bank.c"}


def test_finding_without_any_line_has_no_location():
    """SARIF allows a result without locations; no made-up one."""
    bare = {"kind": "thread_leak", "threads": [5], "count": 1, "message": "T5 still running at exit"}
    unknown = {"kind": "brand_new_kind", "threads": [], "message": "from a newer shim"}
    lw = package()
    log = lw.sarif.sarif_log(lw.reportdata.Report(report([bare, unknown])), srcroot=SRCROOT)
    results = log["runs"][0]["results"]
    assert "locations" not in results[0] and "relatedLocations" not in results[0], results[0]
    assert results[0]["ruleIndex"] == 0 and results[0]["level"] == "error"
    # A kind this command does not know: reported, with no rule to point at.
    assert results[1]["ruleId"] == "brand_new_kind" and "ruleIndex" not in results[1], results[1]


def test_hostile_fields_do_not_break_it():
    """Every field of the wrong type: still a SARIF log, no exception."""
    junk = {"kind": "deadlock", "threads": "x", "message": 7, "location": "nowhere",
            "evidence": [None, 3, {"role": 5, "thread": "T1", "stack": "no", "edge": "1"},
                         {"role": "waits", "stack": [None, {"file": 3, "line": "9"},
                                                     {"file": "/src/app/a.c", "line": -1}]}]}
    log = sarif_of(report([junk, "not a finding"]))
    (result,) = check_structure(log)["results"]
    assert result["ruleId"] == "deadlock" and "locations" not in result, result


def test_clean_report_has_no_results():
    """The negative: a report without findings gives an empty results list
    (and still every rule), from a hand-made report and from a clean run."""
    log = sarif_of(report([]))
    assert check_structure(log)["results"] == []
    r = run([program("clean_joined_pool")], timeout=30)
    assert r.report and r.report["findings"] == [], r
    log = sarif_via_command(r.report, ["--srcroot", str(lwtest.SOURCE)])
    assert check_structure(log)["results"] == []


def sarif_via_command(data, extra=()):
    """`leakwatch report --format sarif` on `data`, as a user runs it."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    try:
        proc = subprocess.run([str(lwtest.BUILD / "leakwatch"), "report", "--format", "sarif",
                               *extra, f.name], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)
    assert proc.returncode == 0 and not proc.stderr, proc
    log = json.loads(proc.stdout)
    validate_if_possible(log)
    return log


def test_real_reports_point_at_the_test_programs():
    """Reports the shim writes: each result is located in the program's
    own source, relative to --srcroot, with its rule's level."""
    srcroot = str(lwtest.SOURCE)
    cases = {
        "deadlock": ([program("dl_abba")], {"deadlock_ms": 300, "deadlock_action": "exit"}, "dl_abba.c"),
        "lock_order_inversion": ([program("lo_abba")], {}, "lo_abba.c"),
        "thread_leak": ([program("thread_c11_leak")], {}, "thread_c11_leak.c"),
        "misuse": ([program("cw_cases"), "cond_partial"], {}, "cw_cases.c"),
    }
    for kind, (argv, options, source) in cases.items():
        r = run(argv, options=options, timeout=30)
        assert r.report and any(f["kind"] == kind for f in r.report["findings"]), (kind, r)
        log = sarif_via_command(r.report, ["--srcroot", srcroot])
        results = [x for x in check_structure(log)["results"] if x["ruleId"] == kind]
        assert results, (kind, log["runs"][0]["results"])
        for result in results:
            located = result["locations"][0]["physicalLocation"]
            assert located["artifactLocation"] == {"uri": f"tests/programs/{source}",
                                                   "uriBaseId": "SRCROOT"}, (kind, located)
            related = [loc["physicalLocation"]["artifactLocation"]["uri"]
                       for loc in result.get("relatedLocations", []) if "physicalLocation" in loc]
            assert f"tests/programs/{source}" in related, (kind, related)
    # --srcroot is for SARIF only; a clear error elsewhere.
    proc = subprocess.run([str(lwtest.BUILD / "leakwatch"), "report", "--srcroot", srcroot, "-"],
                          input=json.dumps(report([])), capture_output=True, text=True)
    assert proc.returncode == 2 and "--srcroot goes with --format sarif" in proc.stderr, proc


def shim_sarif_and_json(argv, cwd, options=None):
    """The shim's own SARIF (sarif_path=) and JSON of one run in `cwd`."""
    tmp = tempfile.mkdtemp(prefix="lwsarifcmp-")
    opts = {"sarif_path": os.path.join(tmp, "r.sarif"), "json_path": os.path.join(tmp, "r.json")}
    opts.update(options or {})
    env = dict(os.environ, LD_PRELOAD=str(lwtest.LIB),
               LEAKWATCH_OPTIONS=":".join(f"{k}={v}" for k, v in opts.items()))
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=60)
    with open(opts["sarif_path"]) as f, open(opts["json_path"]) as g:
        return json.load(f), json.load(g)


def test_command_agrees_with_the_shims_sarif():
    """For the same run, `report --format sarif --srcroot CWD` and the
    shim's sarif_path= give the same rules and, per result, the same rule,
    level, message and location; the shim's related locations come first
    among the command's, with the same sentences."""
    cwd = str(lwtest.SOURCE)
    for argv, options in (([program("lo_abba")], {}),
                          ([program("dl_abba")], {"deadlock_ms": 300, "deadlock_action": "exit"}),
                          ([program("thread_detached_leak")], {})):
        theirs, data = shim_sarif_and_json(argv, cwd, options)
        mine = sarif_via_command(data, ["--srcroot", cwd])
        check_structure(mine)
        rules = lambda log: [(r["id"], r["defaultConfiguration"]["level"], r["help"]["text"])  # noqa: E731
                             for r in log["runs"][0]["tool"]["driver"]["rules"]]
        assert rules(mine) == rules(theirs)
        results = mine["runs"][0]["results"], theirs["runs"][0]["results"]
        assert len(results[0]) == len(results[1]) > 0, (argv, results)
        for a, b in zip(*results):
            for key in ("ruleId", "ruleIndex", "level", "message"):
                assert a[key] == b[key], (argv, key, a[key], b[key])
            assert [loc["physicalLocation"] for loc in a.get("locations", [])] == \
                [loc["physicalLocation"] for loc in b.get("locations", [])], (argv, a, b)
            related = lambda r: [(loc["message"]["text"], loc["physicalLocation"])  # noqa: E731
                                 for loc in r.get("relatedLocations", [])]
            assert related(a)[:len(related(b))] == related(b), (argv, related(a), related(b))
