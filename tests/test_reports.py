"""Reports as data (issue 20): each finding kind's location, and the SARIF
2.1.0 file the shim writes at exit with sarif_path (SPEC section 3).

The SARIF checks are structural: the properties SARIF 2.1.0 requires of a
log, a run, a tool, a rule and a result, with the values leakwatch maps to
them (docs/reference.md, "SARIF"), and file locations relative to the
process's working directory (base id SRCROOT) when under it."""
import json
import os
import pathlib
import subprocess
import tempfile

from lwtest import LIB, SOURCE, program, run

KINDS = ["thread_leak", "unjoined_thread", "deadlock", "lock_order_inversion", "abandoned_lock",
         "long_wait", "misuse"]


def run_sarif(argv, cwd, options=None):
    """Run argv under the shim in `cwd` with sarif_path and json_path; the
    SARIF log, the JSON report and the process's result."""
    tmp = tempfile.mkdtemp(prefix="lwsarif-")
    opts = {"sarif_path": os.path.join(tmp, "r.sarif"), "json_path": os.path.join(tmp, "r.json")}
    opts.update(options or {})
    env = dict(os.environ, LD_PRELOAD=str(LIB),
               LEAKWATCH_OPTIONS=":".join(f"{k}={v}" for k, v in opts.items()))
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    with open(opts["sarif_path"]) as f:
        sarif = json.load(f)
    with open(opts["json_path"]) as f:
        report = json.load(f)
    return sarif, report, proc


def check_log(sarif):
    """The properties SARIF 2.1.0 requires, and leakwatch's rules."""
    assert sarif["version"] == "2.1.0", sarif.get("version")
    assert "sarif-2.1.0" in sarif["$schema"], sarif["$schema"]
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "leakwatch" and driver["version"], driver
    rules = driver["rules"]
    assert [r["id"] for r in rules] == KINDS, rules
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"], rule
        assert rule["help"]["text"] == rule["fullDescription"]["text"], rule
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note"), rule
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"], result
        assert result["level"] in ("error", "warning", "note"), result
        assert result["message"]["text"], result
        for loc in result["locations"] + result.get("relatedLocations", []):
            check_physical(loc["physicalLocation"], run_)
        ids = [loc["id"] for loc in result.get("relatedLocations", [])]
        assert ids == list(range(len(ids))), ids
        for flow in result.get("codeFlows", []):
            for thread_flow in flow["threadFlows"]:
                assert thread_flow["locations"], thread_flow
                for step in thread_flow["locations"]:
                    check_physical(step["location"]["physicalLocation"], run_)
    return run_


def check_physical(physical, run_):
    artifact = physical["artifactLocation"]
    uri = artifact["uri"]
    if "uriBaseId" in artifact:
        assert artifact["uriBaseId"] == "SRCROOT" and "SRCROOT" in run_["originalUriBaseIds"], physical
        assert not uri.startswith("/") and "://" not in uri, uri
    else:
        assert uri.startswith("file:///"), uri
    assert isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] > 0


def line_of(path, text):
    """The 1-based line of `path` that contains `text` (once)."""
    lines = [i + 1 for i, line in enumerate(pathlib.Path(path).read_text().splitlines()) if text in line]
    assert len(lines) == 1, (path, text, lines)
    return lines[0]


def test_sarif_lock_order_inversion_at_its_source_line():
    sarif, report, proc = run_sarif([program("lo_abba")], cwd=str(SOURCE))
    assert proc.returncode == 66, proc.stderr[-2000:]
    run_ = check_log(sarif)
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"] == f"file://{SOURCE}/", run_["originalUriBaseIds"]
    (result,) = run_["results"]
    assert (result["ruleId"], result["level"]) == ("lock_order_inversion", "warning"), result
    assert result["message"]["text"] == report["findings"][0]["message"]
    # The location: where T2, holding B, took A (then_a's lock call).
    source = SOURCE / "tests/programs/lo_abba.c"
    (location,) = result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "tests/programs/lo_abba.c", "uriBaseId": "SRCROOT"}, physical
    assert physical["region"]["startLine"] == report["findings"][0]["location"]["line"]
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "then_a", location
    # The four events of the two edges, each at its line, and as flows.
    related = result["relatedLocations"]
    assert [r["logicalLocations"][0]["fullyQualifiedName"] for r in related] == \
        ["take_b_first", "then_a", "take_a_first", "then_b"], related
    assert related[0]["message"]["text"].startswith("edge 1: T2 took mutex 0x"), related[0]
    assert all(r["physicalLocation"]["region"]["startLine"] >= line_of(source, "void then_b(void) {")
               for r in related), related
    assert len(result["codeFlows"][0]["threadFlows"]) == 4, result["codeFlows"]


def test_sarif_clean_program_has_no_results():
    for _ in range(3):
        sarif, report, proc = run_sarif([program("clean_joined_pool")], cwd=str(SOURCE))
        assert proc.returncode == 0, proc.stderr[-2000:]
        run_ = check_log(sarif)
        assert run_["results"] == [] and report["findings"] == [], run_["results"]


def test_sarif_leak_points_at_the_creation_line():
    sarif, report, proc = run_sarif([program("thread_detached_leak")], cwd=str(SOURCE))
    run_ = check_log(sarif)
    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["thread_leak", "thread_leak"], results
    source = SOURCE / "tests/programs/thread_detached_leak.c"
    for result, finding in zip(results, report["findings"]):
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "tests/programs/thread_detached_leak.c", physical
        assert "pthread_create" in source.read_text().splitlines()[physical["region"]["startLine"] - 1], physical
        assert finding["location"]["line"] == physical["region"]["startLine"], finding


def test_sarif_misuse_points_at_the_call_outside_the_srcroot():
    """From another working directory, files are absolute file: URIs."""
    with tempfile.TemporaryDirectory() as elsewhere:
        sarif, report, proc = run_sarif([program("mis_unlock")], cwd=elsewhere)
    run_ = check_log(sarif)
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file:///tmp/"), run_
    (result,) = [r for r in run_["results"] if r["ruleId"] == "misuse"][:1]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == f"file://{SOURCE}/tests/programs/mis_unlock.c", physical
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "release_wrong"
    assert result["relatedLocations"][0]["message"]["text"].startswith("T0 calls pthread_mutex_unlock"), result
    assert result["relatedLocations"][1]["message"]["text"] == "where the holder took it", result


def test_every_kind_has_a_location_in_the_program():
    """The JSON `location` of a finding of each kind is a frame of the
    program's own source, the one a reader should look at first."""
    cases = [
        (["lo_abba"], {}, "lock_order_inversion", "then_a"),
        (["mis_unlock"], {}, "misuse", "release_wrong"),
        (["dl_abandoned"], {}, "abandoned_lock", "take_and_return"),
        (["thread_unjoined", "one"], {}, "unjoined_thread", "start_one"),
        (["dl_abba"], {"deadlock_ms": 300}, "deadlock", None),
    ]
    problems = []
    for (name, *args), options, kind, function in cases:
        r = run([program(name)] + args, options=options, timeout=30)
        findings = r.findings(kind)
        if not findings:
            problems.append(f"{name}: no {kind}")
            continue
        location = findings[0].get("location")
        if not location or not location.get("file", "").endswith(f"{name}.c"):
            problems.append(f"{name}: location {location}")
        elif function and location["function"] != function:
            problems.append(f"{name}: location in {location['function']}, not {function}")
    assert not problems, problems


def test_command_renders_what_the_shim_printed():
    """`leakwatch report` of the exit JSON prints the shim's exit text line
    for line, for reports that use every part of the layout: a condition
    variable's last signal, std:: frames folded and std::thread names,
    object names, held locks."""
    import re
    cases = [["ev_last_signal", "signal"], ["ev_last_signal", "broadcast"], ["cxx_threads"],
             ["thread_detached_leak"]]
    for name, *args in cases:
        r = run([program(name)] + args, timeout=30)
        assert r.report and r.report["findings"], (name, r)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "r.json")
            with open(path, "w") as f:
                json.dump(r.report, f)
            drawn = subprocess.run([str(SOURCE / "scripts/leakwatch"), "report", path],
                                   capture_output=True, text=True, timeout=60)
        assert drawn.returncode == 0, drawn.stderr
        # The shim's exit report: from its first finding line to its summary.
        pid = r.report["pid"]
        text = r.stderr[r.stderr.index(f"=={pid}== leakwatch: "):]
        text = re.sub(r"finished [0-9.]+ m?s ago,", "finished,", text)
        mine = re.sub(r"finished [0-9.]+ m?s ago,", "finished,", drawn.stdout)
        assert mine.splitlines() == text.splitlines(), (name, "\n--- shim:\n" + text + "\n--- command:\n" + mine)


def test_location_of_sources_built_under_slash_build():
    """A program whose sources live under /build/ (a container's working
    directory, say) still has its findings placed in its own code: what
    makes a frame the program's is the module it is in, not its path."""
    import shutil
    if os.geteuid() != 0 and not os.access("/build", os.W_OK):
        return  # cannot make /build here
    made_build = not os.path.exists("/build")
    os.makedirs("/build", exist_ok=True)
    work = tempfile.mkdtemp(prefix="lwtest-", dir="/build")
    try:
        source = os.path.join(work, "lo_abba.c")
        shutil.copy(SOURCE / "tests" / "programs" / "lo_abba.c", source)
        binary = os.path.join(work, "lo_abba")
        subprocess.run(["gcc", "-g", "-O1", "-pthread", "-o", binary, source], check=True)
        r = run([binary], timeout=30)
        (finding,) = r.findings("lock_order_inversion")
        location = finding.get("location", {})
        assert location.get("file") == source and location.get("function") == "then_a", location
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if made_build:
            try:
                os.rmdir("/build")
            except OSError:
                pass
