"""Objects named by where they live (issue 20 part 5): a wait's or a held
lock's object carries `object_name` in the JSON (absent when unknown) and
its name in the text: the data symbol ("queue_lock", "accounts+120"),
"on T0's stack, in main", or "heap". tests/programs/obj_names.c: four
threads block on four mutexes main holds; main calls exit() from inside."""
import re

from lwtest import program, run


def run_objects():
    r = run([program("obj_names")])
    assert r.returncode == 66, r
    lines = r.stdout.splitlines()
    assert lines[-1] == "exiting", r.stdout
    fields = dict(item.split("=") for item in lines[0].split())
    return r, fields


def by_name(r):
    return {t["name"]: t for t in r.report["threads"] if t["id"] != 0}


def test_global_mutex_named_by_its_symbol():
    r, addr = run_objects()
    t = by_name(r)["queue"]
    assert t["wait"]["object"] == addr["queue_lock"], (t["wait"], addr)
    assert t["wait"]["object_name"] == "queue_lock", t["wait"]
    # In the text, beside the address.
    assert "on %s (queue_lock)" % addr["queue_lock"] in r.stderr, r.stderr


def test_struct_member_mutex_named_symbol_plus_offset():
    r, addr = run_objects()
    t = by_name(r)["account"]
    assert t["wait"]["object"] == addr["account"], (t["wait"], addr)
    assert t["wait"]["object_name"] == "accounts+%s" % addr["account_offset"], t["wait"]


def test_stack_mutex_named_by_thread_and_frame():
    r, addr = run_objects()
    t = by_name(r)["stack"]
    assert t["wait"]["object"] == addr["stack"], (t["wait"], addr)
    assert t["wait"]["object_name"] == "on T0's stack, in main", t["wait"]


def test_heap_mutex_named_heap():
    r, addr = run_objects()
    t = by_name(r)["heap"]
    assert t["wait"]["object"] == addr["heap"], (t["wait"], addr)
    assert t["wait"]["object_name"] == "heap", t["wait"]


def test_held_locks_named_too():
    r, addr = run_objects()
    held = {h["object"]: h.get("object_name") for h in r.thread(0)["held"]}
    assert held == {
        addr["queue_lock"]: "queue_lock",
        addr["account"]: "accounts+%s" % addr["account_offset"],
        addr["stack"]: "on T0's stack, in main",
        addr["heap"]: "heap",
    }, (held, addr)


def test_plain_c_threads_keep_start_names_and_frames():
    r, _ = run_objects()
    for t in by_name(r).values():
        assert t["start"] == "lock_and_wait", t
    assert "frames in std::" not in r.stderr, r.stderr
    assert re.search(r"T1 'queue' \(lock_and_wait\)", r.stderr), r.stderr


def test_clean_program_has_no_names_to_give():
    # A clean C++ program: nothing reported, nothing named (20 runs).
    for attempt in range(20):
        r = run([program("clean_sync_cxx")])
        assert r.returncode == 0 and r.report["findings"] == [], (attempt, r.report["findings"])
        assert "leakwatch:" not in r.stderr, (attempt, r.stderr)
