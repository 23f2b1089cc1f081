"""Thread tracking (SPEC sections 2-4): which threads leak at exit, what the
report says about each (id, tid, start, name, parent, detached, state,
stacks), which threads must never be reported, and the options that shape a
run (exitcode, exit_grace_ms, log_path, stack_depth, bad options)."""
import os
import pathlib
import tempfile
import time

from lwtest import assert_clean_and_unchanged, addresses, reported_ids, leak_of, assert_no_shim_frames, SHIM, assert_clean, assert_in_stack, functions, program, run



# --- local helpers (candidates for lwtest.py) ---------------------------------




def every_stack(report):
    """(where, frames) for every stack in a report."""
    for t in report["threads"]:
        yield f"T{t['id']} create_stack", t["create_stack"]
        if "wait" in t:
            yield f"T{t['id']} wait.stack", t["wait"]["stack"]
        if "stack" in t:
            yield f"T{t['id']} stack", t["stack"]
        for h in t["held"]:
            yield f"T{t['id']} held {h['object']}", h["stack"]


def complaint_lines(stderr, key):
    return [line for line in stderr.splitlines() if key in line]


# --- leaks at exit --------------------------------------------------------------

def test_running_loop_leaked_after_grace():
    started = time.monotonic()
    r = run([program("thread_running_loop")])
    elapsed = time.monotonic() - started
    assert r.returncode == 66, r
    assert r.stdout == "poller started\n"
    assert reported_ids(r) == [1]
    leak = leak_of(r, 1)
    assert leak["count"] == 1
    t = r.thread(1)
    assert t["start"] == "poll_loop" and t["parent"] == 0 and t["detached"] is False
    assert t["state"] == "running" and "wait" not in t
    assert t["tid"] > 0 and t["tid"] != r.report["pid"]
    assert t["held"] == []
    assert_in_stack(t["stack"], "poll_loop", "thread_running_loop.c")
    assert_no_shim_frames(t["stack"])
    assert t["create_stack"][0]["function"] == "start_poller"
    assert_in_stack(t["create_stack"], "main", "thread_running_loop.c")
    assert leak["message"] == "T1 (poll_loop) still running at exit"
    # The loop never ends: leakwatch waited the whole exit_grace_ms first.
    assert elapsed >= 0.2 + 0.03, elapsed


def test_detached_threads_leak_too():
    r = run([program("thread_detached_leak")])
    assert r.returncode == 66, r
    addr = addresses(r.stdout)
    assert reported_ids(r) == [1, 2]
    by_attr, by_detach = r.thread(1), r.thread(2)
    assert by_attr["start"] == "parked_by_attr" and by_attr["detached"] is True
    assert by_attr["state"] == "blocked"
    assert by_attr["wait"]["call"] == "sem_wait" and by_attr["wait"]["object"] == addr["sem"]
    assert by_attr["create_stack"][0]["function"] == "start_detached_by_attr"
    assert by_detach["start"] == "cond_by_detach" and by_detach["detached"] is True
    assert by_detach["state"] == "blocked"
    assert by_detach["wait"]["call"] == "pthread_cond_wait"
    assert by_detach["wait"]["object"] == addr["cond"] and by_detach["wait"]["mutex"] == addr["mutex"]
    assert by_detach["create_stack"][0]["function"] == "start_then_detach"
    for thread_id in (1, 2):
        assert leak_of(r, thread_id)["count"] == 1
    assert r.findings("unjoined_thread") == []


def test_unjoined_one():
    r = run([program("thread_unjoined"), "one"])
    assert r.returncode == 66, r
    assert r.stdout == "1 finished, none joined\n"
    (finding,) = r.findings()
    assert finding["kind"] == "unjoined_thread"
    assert finding["threads"] == [1] and finding["count"] == 1
    t = r.thread(1)
    assert t["state"] == "exited" and t["start"] == "finish_quickly" and t["detached"] is False
    assert t["create_stack"][0]["function"] == "start_one"
    assert finding["message"] == "T1 (finish_quickly) finished but was never joined or detached"
    assert "leakwatch: unjoined_thread: T1 (finish_quickly)" in r.stderr
    assert reported_ids(r) == [1]  # not the joined helper (T2)


def test_unjoined_pool_folds_into_one_finding():
    r = run([program("thread_unjoined"), "pool"])
    assert r.returncode == 66, r
    assert r.stdout == "5 finished, none joined\n"
    (finding,) = r.findings()
    assert finding["kind"] == "unjoined_thread"
    assert finding["count"] == 5
    assert sorted(finding["threads"]) == [1, 2, 3, 4, 5]
    for thread_id in range(1, 6):
        t = r.thread(thread_id)
        assert t["state"] == "exited" and t["start"] == "finish_quickly"
        assert t["create_stack"][0]["function"] == "start_pool"
    assert finding["message"].startswith("5 threads like this: ")
    assert r.stderr.count("leakwatch: unjoined_thread:") == 1  # one block, not five


def test_c11_thrd_create_leaks():
    r = run([program("thread_c11_leak")])
    assert r.returncode == 66, r
    addr = addresses(r.stdout)
    assert reported_ids(r) == [1, 2]
    spawner, waiter = r.thread(1), r.thread(2)
    assert spawner["start"] == "c11_spawner" and spawner["parent"] == 0
    assert spawner["detached"] is False and spawner["state"] == "blocked"
    assert spawner["wait"]["call"] == "mtx_lock"
    assert spawner["wait"]["object"] == addr["main_mtx"]
    assert spawner["wait"]["owner"] == 0  # main holds it until exit
    assert spawner["wait"]["stack"][0]["function"] == "c11_spawner"
    assert spawner["create_stack"][0]["function"] == "start_c11_spawner"
    assert waiter["start"] == "c11_waiter" and waiter["parent"] == 1  # created by T1
    assert waiter["state"] == "blocked"
    assert waiter["wait"]["call"] == "cnd_wait"
    assert waiter["wait"]["object"] == addr["cnd"] and waiter["wait"]["mutex"] == addr["cnd_mtx"]
    assert waiter["wait"]["stack"][0]["function"] == "c11_waiter"
    assert waiter["create_stack"][0]["function"] == "spawn_c11_waiter"
    assert_in_stack(waiter["create_stack"], "c11_spawner", "thread_c11_leak.c")
    assert [h["object"] for h in r.thread(0)["held"]] == [addr["main_mtx"]]
    assert leak_of(r, 2)["message"] == "T2 (c11_waiter) still blocked in cnd_wait at exit"


def cxx_function(frames, name):
    """The frame of C++ function `name` (demangled: "name" or "name(...)")."""
    for frame in frames:
        function = frame.get("function") or ""
        if function == name or function.startswith(name + "("):
            return frame
    raise AssertionError(f"{name} not in stack {functions(frames)}")


def test_cxx_detached_std_thread():
    r = run([program("thread_cxx_detached")])
    assert r.returncode == 66, r
    addr = addresses(r.stdout)
    assert reported_ids(r) == [1]
    t = r.thread(1)
    assert t["detached"] is True and t["parent"] == 0 and t["state"] == "blocked"
    assert t["wait"]["call"] == "pthread_cond_wait"
    assert t["wait"]["object"] == addr["cv"] and t["wait"]["mutex"] == addr["mutex"]
    assert_no_shim_frames(t["wait"]["stack"])
    cxx_function(t["wait"]["stack"], "background_worker")
    # Created through std::thread: the caller of pthread_create is libstdc++,
    # the program's function is further down, demangled.
    assert_no_shim_frames(t["create_stack"])
    frame = cxx_function(t["create_stack"], "launch_background")
    assert "_Z" not in frame["function"]
    # The start routine is libstdc++'s entry (execute_native_thread_routine,
    # a local symbol of a stripped library) - it must still be named somehow.
    assert isinstance(t["start"], str) and t["start"], f"no start routine for a std::thread: {t['start']!r}"


def test_threads_named_by_themselves():
    r = run([program("thread_named")])
    assert r.returncode == 66, r
    assert r.stdout == "main is still 'thread_named'\n"
    assert reported_ids(r) == [1, 2]
    assert r.thread(1)["name"] == "self-named" and r.thread(1)["start"] == "self_named"
    assert r.thread(2)["name"] == "prctl-named" and r.thread(2)["start"] == "prctl_named"
    assert leak_of(r, 1)["message"] == "T1 'self-named' (self_named) still blocked in sem_wait at exit"
    assert leak_of(r, 2)["message"] == "T2 'prctl-named' (prctl_named) still blocked in sem_wait at exit"
    assert "leakwatch: thread_leak: T2 'prctl-named' (prctl_named)" in r.stderr


def test_exit_from_worker_reports_the_blocked_workers():
    r = run([program("thread_exit_from_worker")])
    assert r.returncode == 5, r  # the program's own status: it fails on its own
    assert r.stdout.endswith("quitter calls exit(5)\n") and "not reached" not in r.stdout
    addr = addresses(r.stdout)
    assert r.report is not None and r.report["trigger"] == "exit"
    # Only the two blocked workers: not the exiting worker (T3), not main.
    assert reported_ids(r) == [1, 2]
    assert r.thread(1)["start"] == "cond_blocked"
    assert r.thread(1)["wait"]["call"] == "pthread_cond_wait"
    assert r.thread(1)["wait"]["object"] == addr["cond"]
    assert r.thread(2)["start"] == "sem_blocked"
    assert r.thread(2)["wait"]["call"] == "sem_wait" and r.thread(2)["wait"]["object"] == addr["sem"]
    assert r.thread(3)["start"] == "quitter"
    assert "SUMMARY (exit): 2 findings: 2 thread_leak" in r.stderr


def test_exit_from_worker_exitcode_zero_keeps_its_status():
    r = run([program("thread_exit_from_worker")], options={"exitcode": 0})
    assert r.returncode == 5, r
    assert reported_ids(r) == [1, 2]


def fork_reports(r):
    parent_pid = r.report["pid"]
    children = [rep for pid, rep in r.json_files.items() if pid != parent_pid]
    assert len(children) == 1, list(r.json_files)
    return r.report, children[0]


def test_fork_child_leak_is_in_the_child_report_only():
    r = run([program("thread_fork"), "leak"])
    assert r.returncode == 0, r
    assert r.stdout == ("parent workers sum 6\nchild leaves its worker\nchild status 66\n"
                        "parent waiter returned 7\n")
    parent, child = fork_reports(r)
    assert parent["findings"] == []
    assert child["pid"] != parent["pid"] and child["trigger"] == "exit"
    (leak,) = child["findings"]
    assert leak["kind"] == "thread_leak"
    (thread_id,) = leak["threads"]
    (t,) = [t for t in child["threads"] if t["id"] == thread_id]
    assert t["start"] == "child_worker" and t["parent"] == 0 and t["state"] == "blocked"
    assert t["wait"]["call"] == "sem_wait" and t["wait"]["stack"][0]["function"] == "child_worker"
    assert t["create_stack"][0]["function"] == "start_child_worker"
    assert f"=={child['pid']}== leakwatch: thread_leak: T{thread_id} (child_worker)" in r.stderr
    assert f"=={parent['pid']}== leakwatch:" not in r.stderr
    # parent_waiter was blocked in the parent during the fork: it does not
    # exist in the child, so it is not the child's leak.
    assert "parent_waiter" not in r.stderr


def test_fork_child_clean():
    r = run([program("thread_fork"), "clean"])
    assert_clean(r)
    assert r.stdout == ("parent workers sum 6\nchild joined its worker\nchild status 0\n"
                        "parent waiter returned 7\n")
    parent, child = fork_reports(r)
    assert parent["findings"] == [] and child["findings"] == []


def test_exit_grace_zero_reports_a_late_finisher():
    r = run([program("thread_late_finisher")], options={"exit_grace_ms": 0})
    assert r.returncode == 66, r
    assert reported_ids(r) == [1]
    t = r.thread(1)
    assert leak_of(r, 1)["kind"] == "thread_leak"
    assert t["start"] == "slow_finisher" and t["detached"] is True and t["state"] == "running"
    assert t["tid"] > 0
    assert_in_stack(t["stack"], "slow_finisher", "thread_late_finisher.c")


def test_default_exit_grace_waits_for_a_late_finisher():
    r = run([program("thread_late_finisher")])
    assert_clean(r)
    assert r.stdout == "main returns while the worker finishes\n"


# --- never reported ---------------------------------------------------------------



def test_detached_threads_that_finish_are_clean():
    r = assert_clean_and_unchanged([program("clean_detached_finish")])
    assert r.stdout == "4 detached threads added 1111\n"


def test_every_join_entry_point_is_clean():
    r = assert_clean_and_unchanged([program("clean_join_variants")])
    assert r.stdout == (
        "pthread_join rc 0 result 3\n"
        "pthread_tryjoin_np rc 0 result 6\n"
        "pthread_timedjoin_np rc 0 result 9\n"
        "pthread_clockjoin_np rc 0 result 12\n"
        "thrd_join success result 15\n"
        "pthread_detach rc 0\n"
        "thrd_detach success\n"
        "detached threads finished\n")
    assert [t["id"] for t in r.report["threads"] if t["state"] != "exited"] == [0]


def test_every_way_a_thread_ends_is_clean():
    r = assert_clean_and_unchanged([program("clean_thread_ends")])
    assert r.stdout == (
        "return: 11\n"
        "pthread_exit: 22\n"
        "thrd_exit: 31\n"
        "cancel rc 0\n"
        "cancelled in sem_wait: canceled\n"
        "cancel rc 0\n"
        "cancelled in nanosleep: canceled\n")


def test_cxx_thread_pool_joined_is_clean():
    r = assert_clean_and_unchanged([program("clean_cxx_threads"), "pool"])
    assert r.stdout == "pool total 7998000\n"


def test_std_async_is_clean():
    r = assert_clean_and_unchanged([program("clean_cxx_threads"), "async"])
    assert r.stdout == "async 385\nasync 2870\nasync 9455\n"


# --- options ------------------------------------------------------------------------

def test_unknown_option_is_named_and_the_run_goes_on():
    clean = run([program("clean_join_variants")], options={"bogus": 1})
    plain = run([program("clean_join_variants")], preload=False)
    assert clean.returncode == 0, clean
    assert clean.stdout == plain.stdout
    lines = clean.stderr.splitlines()
    assert len(lines) == 1 and "bogus" in lines[0], clean.stderr
    assert clean.report is not None and clean.report["findings"] == []  # json_path still applies
    # Defaults stay in force: a leaking program still gets exit status 66.
    leaking = run([program("thread_named")], options={"bogus": 1})
    assert leaking.returncode == 66, leaking
    assert leaking.stdout == "main is still 'thread_named'\n"
    assert len(complaint_lines(leaking.stderr, "bogus")) == 1
    assert reported_ids(leaking) == [1, 2]


def test_bad_exitcode_value_keeps_the_default():
    r = run([program("thread_named")], options={"exitcode": "abc"})
    assert r.returncode == 66, r  # the default, not 0 and not the program's
    assert r.stdout == "main is still 'thread_named'\n"
    (line,) = complaint_lines(r.stderr, "exitcode")
    assert "abc" in line
    assert reported_ids(r) == [1, 2]


def test_bad_stack_depth_value_keeps_the_default():
    r = run([program("thread_deep_stack")], options={"stack_depth": 1000})
    assert r.returncode == 66, r
    (line,) = complaint_lines(r.stderr, "stack_depth")
    assert "1000" in line
    blocker = r.thread(1)
    assert blocker["start"] == "deep_blocker"
    assert len(blocker["wait"]["stack"]) == 32, functions(blocker["wait"]["stack"])  # the default depth
    assert blocker["wait"]["stack"][0]["function"] == "block_forever"
    assert functions(blocker["wait"]["stack"])[1:] == ["descend"] * 31
    for where, frames in every_stack(r.report):
        assert len(frames) <= 32, (where, functions(frames))


def test_log_path_gets_the_text_report_with_the_pid():
    directory = tempfile.mkdtemp(prefix="lwtest-log-")
    r = run([program("thread_named")], options={"log_path": os.path.join(directory, "log.%p")})
    assert r.returncode == 66, r
    assert "leakwatch:" not in r.stderr, r.stderr  # the text went to the file
    assert r.stdout == "main is still 'thread_named'\n"
    pid = r.report["pid"]
    assert sorted(os.listdir(directory)) == [f"log.{pid}"]
    text = pathlib.Path(directory, f"log.{pid}").read_text()
    assert f"=={pid}== leakwatch: thread_leak: T1 'self-named' (self_named)" in text
    assert f"=={pid}== leakwatch: thread_leak: T2 'prctl-named' (prctl_named)" in text
    assert "SUMMARY (exit): 2 findings: 2 thread_leak" in text


def test_stack_depth_3_limits_every_stack():
    r = run([program("thread_deep_stack")], options={"stack_depth": 3})
    assert r.returncode == 66, r
    assert reported_ids(r) == [1, 2]
    addr = addresses(r.stdout)
    blocker, runner = r.thread(1), r.thread(2)
    assert functions(blocker["wait"]["stack"]) == ["block_forever", "descend", "descend"]
    assert blocker["wait"]["object"] == addr["cond"]
    assert [h["object"] for h in blocker["held"]] == [addr["outer"]]
    assert blocker["held"][0]["stack"][0]["function"] == "block_forever"
    assert runner["state"] == "running" and len(runner["stack"]) == 3, functions(runner["stack"])
    stacks = list(every_stack(r.report))
    assert any(where.endswith("held " + addr["outer"]) for where, _ in stacks)
    assert any(where == "T2 stack" for where, _ in stacks)
    for where, frames in stacks:
        assert len(frames) <= 3, (where, functions(frames))
