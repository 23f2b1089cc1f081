"""The GoogleTest example (examples/gtest): a fixture that checks each
test's threads with leakwatch_verify_since_text, and a global environment
that checks the process at the end. A test that leaks fails with the
leaked threads' stacks in its failure message, where JUnit XML and CI
summaries keep them."""
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree

from lwtest import BUILD

BINARY = BUILD / "examples" / "example_gtest_jobqueue"


def gtest(*args):
    assert BINARY.exists(), f"{BINARY} not built (is Debian's googletest installed?)"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    return subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_suite_without_leaks_passes():
    proc = gtest()
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "[  PASSED  ] 4 tests." in proc.stdout, proc.stdout  # death tests: their status kept
    # Only the death tests' children report (their leaks are real), and
    # their exit status stays 3.
    assert "leakwatch" not in proc.stdout, proc.stdout


def test_leaking_test_fails_with_the_stacks_in_its_failure_message():
    xml_path = os.path.join(tempfile.mkdtemp(prefix="lwgtest-"), "results.xml")
    proc = gtest("--gtest_also_run_disabled_tests", "--gtest_filter=*LeaksItsWorkers",
                 f"--gtest_output=xml:{xml_path}")
    # gtest's own status for a failed test: leakwatch reported the leak in
    # the test already and does not turn the status into its exitcode.
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    assert "[  FAILED  ] LeakCheck.DISABLED_LeaksItsWorkers" in proc.stdout, proc.stdout
    # Nothing printed by leakwatch itself: the text is in the failure.
    assert "leakwatch:" not in proc.stderr, proc.stderr
    # gtest writes the message twice (attribute and body): the body.
    failures = [f.text or f.get("message", "") for f in ElementTree.parse(xml_path).getroot().iter("failure")]
    assert len(failures) == 1, failures  # the global check does not fail again
    message = failures[0]
    assert "3 threads like this" in message or message.count("still blocked in pthread_cond_wait") == 3, message
    assert "thread_leak" in message and "at verify" in message, message
    assert "JobQueue::Work()" in message and "jobqueue.h:" in message, message  # the blocking stack
    assert "LeaksItsWorkers" in message and "jobqueue_test.cpp:" in message, message  # who made them
