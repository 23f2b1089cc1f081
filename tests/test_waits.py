"""Every blocking wait is seen (SPEC sections 1, 2 and 4): for each pthread,
C11 and C++ primitive a program leaves one thread blocked at exit, and the
report must name the call, the object (the address the program printed),
its owner where it has one, the blocking stack with the program's function
on top, and the locks each thread holds. Then: correct use reports nothing,
and the shim never changes what a call returns."""
import os
import subprocess
import tempfile

from lwtest import assert_clean_and_unchanged, addresses, reported_ids, leak_of, assert_no_shim_frames, SHIM, SOURCE, assert_clean, assert_in_stack, functions, program, run



# --- local helpers (candidates for lwtest.py) ---------------------------------





def is_function(frame, name):
    """C names compare exactly; C++ ones are demangled: "name" or "name(...)"."""
    function = frame.get("function") or ""
    return function == name or function.startswith(name + "(")


def assert_top(frames, name, exe=None):
    """`name` is the program's frame on top of `frames`: frame 0 for C; for
    C++ the first frame in the program itself (frames of inlined standard
    library templates may sit above it), and never a shim frame."""
    assert frames, "empty stack"
    assert_no_shim_frames(frames)
    if exe is None:
        assert frames[0]["function"] == name, functions(frames)
        return frames[0]
    # The program's own first real frame: inlined frames (standard library
    # templates expanded into the program) are shown above it.
    own = [f for f in frames if f.get("module") == exe and not f.get("inlined")]
    assert own and is_function(own[0], name), functions(frames)
    return own[0]


def run_blocked(name, mode):
    r = run([program(name), mode])
    assert r.returncode == 66, r
    assert r.stdout.endswith(f"{mode}: main returns\n"), r.stdout
    return r, addresses(r.stdout)


def check_wait(r, thread_id, call, obj, *, top, owner=None, mutex=None, timed=False, exe=None):
    """Thread `thread_id` is a thread_leak waiting in `call` on `obj`."""
    t = r.thread(thread_id)
    assert leak_of(r, thread_id)["kind"] == "thread_leak"
    assert t["detached"] is False and t["parent"] == 0
    w = t["wait"]
    assert w["call"] == call, w
    assert w["object"] == obj, (w["object"], obj)
    if owner is None:
        assert "owner" not in w, w
    else:
        assert w.get("owner") == owner, w
    if mutex is None:
        assert "mutex" not in w, w
    elif mutex is not True:
        assert w["mutex"] == mutex, (w.get("mutex"), mutex)
    if timed:
        assert w.get("timed") is True, w
    else:
        assert w.get("timed", False) is False, w
        assert t["state"] == "blocked", t["state"]
    assert w["waited_ms"] >= 40, w
    assert_top(w["stack"], top, exe)
    return t


def check_held(t, objects, function, exe=None):
    """`t` holds exactly `objects` (in order), the first taken in `function`."""
    assert [h["object"] for h in t["held"]] == objects, t["held"]
    for h in t["held"]:
        assert_no_shim_frames(h["stack"])
        if exe is None:
            assert_in_stack(h["stack"], function)
            assert h["stack"][0]["function"] == function, functions(h["stack"])
        else:
            assert any(is_function(f, function) for f in h["stack"]), functions(h["stack"])


# --- pthreads -----------------------------------------------------------------------

def test_mutex_lock_owner_blocked_elsewhere():
    r, addr = run_blocked("wait_pthread", "mutex")
    assert reported_ids(r) == [1, 2]
    waiter = check_wait(r, 2, "pthread_mutex_lock", addr["mutex"], top="mutex_waiter", owner=1)
    assert waiter["held"] == [] and waiter["start"] == "mutex_waiter"
    holder = check_wait(r, 1, "sem_wait", addr["never"], top="park")
    assert holder["start"] == "mutex_holder"
    assert_in_stack(holder["wait"]["stack"], "mutex_holder", "wait_pthread.c")
    check_held(holder, [addr["mutex"]], "mutex_holder")
    assert holder["held"][0]["call"] == "pthread_mutex_lock"
    assert holder["create_stack"][0]["function"] == "start_thread"
    assert addr["mutex"] in r.stderr  # the text report names the object too


def test_mutex_lock_owner_running():
    r, addr = run_blocked("wait_pthread", "mutex_running")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_mutex_lock", addr["mutex"], top="mutex_waiter", owner=1)
    holder = r.thread(1)
    assert holder["state"] == "running" and "wait" not in holder
    assert_in_stack(holder["stack"], "running_holder", "wait_pthread.c")
    check_held(holder, [addr["mutex"]], "running_holder")


def test_mutex_timedlock_long_timeout():
    r, addr = run_blocked("wait_pthread", "timedlock")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_mutex_timedlock", addr["mutex"], top="timedlock_waiter", owner=1,
               timed=True)
    check_held(r.thread(1), [addr["mutex"]], "mutex_holder")


def test_rwlock_wrlock_blocked_by_reader():
    r, addr = run_blocked("wait_pthread", "rwlock_wr")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_rwlock_wrlock", addr["rwlock"], top="writer_waiter")  # no owner
    holder = r.thread(1)
    check_held(holder, [addr["rwlock"]], "reader_holder")
    assert holder["held"][0]["call"] == "pthread_rwlock_rdlock"


def test_rwlock_rdlock_blocked_by_writer():
    r, addr = run_blocked("wait_pthread", "rwlock_rd")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_rwlock_rdlock", addr["rwlock"], top="reader_waiter", owner=1)
    holder = r.thread(1)
    check_held(holder, [addr["rwlock"]], "writer_holder")
    assert holder["held"][0]["call"] == "pthread_rwlock_wrlock"


def test_cond_wait():
    r, addr = run_blocked("wait_pthread", "cond")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "pthread_cond_wait", addr["cond"], top="cond_waiter", mutex=addr["mutex"])
    assert t["held"] == []  # the mutex is released while waiting


def test_cond_timedwait_long_timeout():
    r, addr = run_blocked("wait_pthread", "cond_timed")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "pthread_cond_timedwait", addr["cond"], top="cond_timed_waiter",
                   mutex=addr["mutex"], timed=True)
    assert t["held"] == []


def test_sem_wait():
    r, addr = run_blocked("wait_pthread", "sem")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "sem_wait", addr["sem"], top="sem_waiter")
    assert t["held"] == []


def test_barrier_wait():
    r, addr = run_blocked("wait_pthread", "barrier")
    assert reported_ids(r) == [1]
    check_wait(r, 1, "pthread_barrier_wait", addr["barrier"], top="barrier_waiter")


def test_pthread_join_of_a_blocked_thread():
    r, addr = run_blocked("wait_pthread", "join")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_join", addr["thread"], top="joiner", owner=1)
    assert r.thread(1)["start"] == "join_target" and r.thread(1)["state"] == "blocked"


def test_held_lists_the_outer_mutex_not_the_cond_mutex():
    r, addr = run_blocked("wait_pthread", "cond_holding")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "pthread_cond_wait", addr["cond"], top="cond_waiter_holding",
                   mutex=addr["mutex"])
    check_held(t, [addr["other"]], "cond_waiter_holding")


def test_read_on_a_pipe_is_running_not_a_wait():
    r = run([program("wait_pthread"), "read_pipe"])
    assert r.returncode == 66, r
    assert reported_ids(r) == [1]
    t = r.thread(1)
    assert t["start"] == "pipe_reader"
    assert t["state"] == "running" and "wait" not in t
    assert_in_stack(t["stack"], "pipe_reader", "wait_pthread.c")
    assert_no_shim_frames(t["stack"])
    assert leak_of(r, 1)["message"] == "T1 (pipe_reader) still running at exit"


def test_mutex_kinds_other_than_normal_are_waits_with_owners():
    # Recursive, error-checking, adaptive and priority-inheritance mutexes
    # take the wrappers' checked path, not the tail call of a normal one.
    r, addr = run_blocked("held_list", "kinds")
    assert reported_ids(r) == [1, 2, 3, 4, 5]
    kinds = ["recursive", "errorcheck", "adaptive", "pi"]
    for thread_id, kind in enumerate(kinds, start=2):
        check_wait(r, thread_id, "pthread_mutex_lock", addr[kind], top="kind_waiter", owner=1)
    holder = check_wait(r, 1, "sem_wait", addr["never"], top="park")
    check_held(holder, [addr[k] for k in kinds], "kinds_holder")


# The holder is T1 in a process with threads (the shim's shared path), or
# main, T0, before the process has any other thread (its single-threaded
# path: held_list's *_alone modes).

def check_held_list_after_deep_nesting(mode, holder):
    # 20 nested mutexes (the list keeps 16, counts the rest), unlocked out of
    # order and in order, 1,000 times: afterwards the list holds exactly
    # what the thread took since, and a thread blocked on it sees its owner.
    r, addr = run_blocked("held_list", mode)
    waiter = holder + 1
    assert reported_ids(r) == ([1, 2] if holder else [1])
    check_wait(r, waiter, "pthread_mutex_lock", addr["second"], top="kind_waiter", owner=holder)
    check_held(r.thread(holder), [addr["first"], addr["second"]], "deep_rounds")
    assert r.findings("misuse") == [] and r.findings("abandoned_lock") == []


def test_held_list_is_exact_after_nesting_deeper_than_it_keeps():
    check_held_list_after_deep_nesting("deep", 1)


def test_held_list_is_exact_after_nesting_deeper_than_it_keeps_single_threaded():
    check_held_list_after_deep_nesting("deep_alone", 0)


def check_failed_lock_lists_nothing(mode, holder):
    # glibc refuses to lock a destroyed mutex (EINVAL), whose lock word
    # looks free: the shim must return the same and list nothing for it.
    plain = run([program("held_list"), mode], preload=False)
    r = run([program("held_list"), mode])
    addr = addresses(r.stdout)
    assert plain.stdout.startswith("lock of a destroyed mutex: EINVAL\n"), plain.stdout
    assert r.stdout.startswith("lock of a destroyed mutex: EINVAL\n"), r.stdout
    assert r.stdout.endswith(f"{mode}: main returns\n"), r.stdout
    check_held(r.thread(holder), [addr["first"]], "destroyed_lock")


def test_a_lock_that_fails_leaves_no_held_entry():
    check_failed_lock_lists_nothing("destroyed", 1)


def test_a_lock_that_fails_leaves_no_held_entry_single_threaded():
    check_failed_lock_lists_nothing("destroyed_alone", 0)


# --- C11 ------------------------------------------------------------------------------

def test_c11_mtx_lock():
    r, addr = run_blocked("wait_c11", "mtx_lock")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "mtx_lock", addr["mtx"], top="mtx_waiter", owner=1)
    holder = r.thread(1)
    assert holder["start"] == "mtx_holder" and holder["wait"]["call"] == "cnd_wait"
    check_held(holder, [addr["mtx"]], "mtx_holder")
    assert holder["held"][0]["call"] == "mtx_lock"


def test_c11_cnd_wait():
    r, addr = run_blocked("wait_c11", "cnd_wait")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "cnd_wait", addr["cnd"], top="cnd_waiter", mutex=addr["mtx"])
    assert t["held"] == [] and t["start"] == "cnd_waiter"


def test_c11_thrd_join():
    r, addr = run_blocked("wait_c11", "thrd_join")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "thrd_join", addr["thread"], top="joiner", owner=1)
    assert r.thread(1)["start"] == "join_target"


# --- C++ --------------------------------------------------------------------------------

def run_cxx(mode):
    r, addr = run_blocked("wait_cxx", mode)
    return r, addr, r.report["exe"]


def test_cxx_mutex_lock_guard():
    r, addr, exe = run_cxx("mutex")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_mutex_lock", addr["mutex"], top="lock_mutex", owner=1, exe=exe)
    holder = r.thread(1)
    assert holder["wait"]["call"] == "sem_wait"
    check_held(holder, [addr["mutex"]], "hold_mutex", exe=exe)


def test_cxx_recursive_mutex():
    r, addr, exe = run_cxx("recursive_mutex")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_mutex_lock", addr["mutex"], top="lock_recursive", owner=1, exe=exe)
    holder = r.thread(1)
    assert {h["object"] for h in holder["held"]} == {addr["mutex"]}  # once per level, or once
    assert any(is_function(f, "hold_recursive") for f in holder["held"][0]["stack"])


def test_cxx_timed_mutex_try_lock_for():
    r, addr, exe = run_cxx("timed_mutex")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_mutex_clocklock", addr["mutex"], top="try_lock_for_long", owner=1,
               timed=True, exe=exe)
    check_held(r.thread(1), [addr["mutex"]], "hold_timed", exe=exe)


def test_cxx_shared_mutex_reader_blocked_by_writer():
    r, addr, exe = run_cxx("shared_vs_writer")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_rwlock_rdlock", addr["mutex"], top="lock_shared_blocked", owner=1,
               exe=exe)
    holder = r.thread(1)
    check_held(holder, [addr["mutex"]], "hold_exclusive", exe=exe)
    assert holder["held"][0]["call"] == "pthread_rwlock_wrlock"


def test_cxx_shared_mutex_writer_blocked_by_reader():
    r, addr, exe = run_cxx("exclusive_vs_reader")
    assert reported_ids(r) == [1, 2]
    check_wait(r, 2, "pthread_rwlock_wrlock", addr["mutex"], top="lock_exclusive_blocked", exe=exe)
    holder = r.thread(1)
    check_held(holder, [addr["mutex"]], "hold_shared", exe=exe)
    assert holder["held"][0]["call"] == "pthread_rwlock_rdlock"


def test_cxx_condition_variable_wait():
    r, addr, exe = run_cxx("condition_variable")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "pthread_cond_wait", addr["cv"], top="wait_on_cv", mutex=addr["mutex"],
                   exe=exe)
    assert t["held"] == []


def test_cxx_condition_variable_any():
    r, addr, exe = run_cxx("condition_variable_any")
    assert reported_ids(r) == [1]
    # libstdc++ waits with its own internal mutex, not the program's.
    t = check_wait(r, 1, "pthread_cond_wait", addr["cv"], top="wait_on_cv_any", mutex=True, exe=exe)
    assert t["wait"]["mutex"] != addr["mutex"]
    assert t["held"] == []


def test_cxx_condition_variable_wait_for():
    r, addr, exe = run_cxx("wait_for")
    assert reported_ids(r) == [1]
    t = check_wait(r, 1, "pthread_cond_clockwait", addr["cv"], top="wait_for_long",
                   mutex=addr["mutex"], timed=True, exe=exe)
    assert t["held"] == []


def build_cxx20(source_name):
    """Compile tests/programs/<source_name> as C++20 (the build uses C++17)."""
    out_dir = tempfile.mkdtemp(prefix="lwtest-cxx20-")
    exe = os.path.join(out_dir, os.path.splitext(source_name)[0])
    compiler = os.environ.get("CXX", "c++")
    subprocess.run([compiler, "-std=c++20", "-g", "-O1", "-fno-omit-frame-pointer", "-pthread",
                    "-o", exe, str(SOURCE / "tests" / "programs" / source_name)],
                   check=True, capture_output=True, text=True)
    return exe


def test_cxx_counting_semaphore_is_seen_as_a_futex_wait():
    # libstdc++ 12's counting_semaphore waits on a futex through syscall():
    # leakwatch sees the wait (it used to show the thread as "running").
    exe = build_cxx20("wait_cxx_semaphore.cpp")
    r = run([exe])
    assert r.returncode == 66, r
    assert "semaphore 0x" in r.stdout
    assert reported_ids(r) == [1]
    t = r.thread(1)
    assert t["state"] == "blocked" and t["wait"]["call"] == "futex", t
    assert "counting_semaphore" in t["wait"]["through"], t["wait"]
    assert t["held"] == []
    assert any(is_function(f, "acquire_forever") for f in t["wait"]["stack"]), functions(t["wait"]["stack"])
    assert_no_shim_frames(t["wait"]["stack"])


# --- correct use reports nothing ------------------------------------------------------------



def test_clean_mutex():
    r = assert_clean_and_unchanged([program("clean_sync"), "mutex"])
    assert r.stdout == "mutex counter 8000\n"


def test_clean_rwlock():
    r = assert_clean_and_unchanged([program("clean_sync"), "rwlock"])
    assert r.stdout == "rwlock counter 2000 reads 6000\n"


def test_clean_cond():
    r = assert_clean_and_unchanged([program("clean_sync"), "cond"])
    assert r.stdout == "cond counter 1200\n"


def test_clean_sem():
    r = assert_clean_and_unchanged([program("clean_sync"), "sem"])
    assert r.stdout == "sem produced 2000 consumed sum 1001000\n"


def test_clean_barrier():
    r = assert_clean_and_unchanged([program("clean_sync"), "barrier"])
    assert r.stdout == "barrier counter 300 serial 50\n"


def test_clean_c11():
    r = assert_clean_and_unchanged([program("clean_sync"), "c11"])
    assert r.stdout == "c11 counter 1200\n"


def test_clean_cxx():
    r = assert_clean_and_unchanged([program("clean_sync_cxx")])
    assert r.stdout == "counter 2000 recursive 2000 timed 2000 shared 500 reads 1500 turn 0\n"


# --- the shim never changes what a call returns ------------------------------------------------

def assert_same_behaviour(argv, options=None):
    shimmed = run(argv, options=options)
    plain = run(argv, preload=False)
    assert shimmed.returncode == plain.returncode == 0, (shimmed, plain)
    assert shimmed.stdout == plain.stdout, (shimmed.stdout, plain.stdout)
    return shimmed


def test_sem_wait_interrupted_by_a_signal_returns_eintr():
    r = assert_same_behaviour([program("sem_eintr")])
    assert r.stdout == "handler ran: yes\nsem_wait returned -1 errno EINTR\n"
    assert_clean(r)


def test_cancel_in_cond_wait_runs_cleanup_with_the_mutex_held():
    r = assert_same_behaviour([program("cancel_cond_wait")])
    assert r.stdout == ("cancel: 0\njoin: 0\nresult: PTHREAD_CANCELED\n"
                        "cleanup handler unlock: 0\nmain lock: 0\nmain unlock: 0\n")
    assert_clean(r)


def test_robust_mutex_owner_died():
    # T1 really ends holding the mutex (an abandoned_lock finding is fair):
    # exitcode=0 so the status is compared, not the findings.
    r = assert_same_behaviour([program("mutex_semantics"), "robust"], options={"exitcode": 0})
    assert r.stdout == ("owner lock: 0\nnext lock: EOWNERDEAD\nconsistent: 0\n"
                        "unlock: 0\nrelock: 0\nunlock: 0\n")


# errorcheck and recursive lock first from main alone; "threaded" runs a
# thread before, so main's locks take the shim's multi-threaded path.

def check_errorcheck(*extra):
    # The unlock by a non-owner is real misuse (a misuse finding is fair).
    r = assert_same_behaviour([program("mutex_semantics"), "errorcheck", *extra],
                              options={"exitcode": 0})
    assert r.stdout == "lock: 0\nrelock: EDEADLK\nunlock by another thread: EPERM\nunlock: 0\n"


def test_errorcheck_mutex_edeadlk_and_eperm():
    check_errorcheck()


def test_errorcheck_mutex_edeadlk_and_eperm_threaded():
    check_errorcheck("threaded")


def check_recursive(*extra):
    r = assert_same_behaviour([program("mutex_semantics"), "recursive", *extra])
    assert r.stdout == ("lock 1: 0\nlock 2: 0\nlock 3: 0\nunlock 1: 0\nunlock 2: 0\nunlock 3: 0\n"
                        "another thread's trylock: 0\n")
    assert_clean(r)


def test_recursive_mutex_three_levels():
    check_recursive()


def test_recursive_mutex_three_levels_threaded():
    check_recursive("threaded")


def test_trylock_on_a_held_mutex_is_ebusy():
    r = assert_same_behaviour([program("mutex_semantics"), "trylock"])
    assert r.stdout == "trylock: EBUSY\ntrylock after release: 0\nunlock: 0\n"
    assert_clean(r)


def test_timedlock_with_a_past_deadline_is_etimedout():
    r = assert_same_behaviour([program("mutex_semantics"), "timedlock_past"])
    assert r.stdout == "timedlock: ETIMEDOUT\ntimedlock after release: 0\nunlock: 0\n"
    assert_clean(r)
