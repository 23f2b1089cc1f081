// A GoogleTest suite that asserts no test leaks a thread, the goleak way:
// each test's leaks fail that test, with the leaked threads' stacks in the
// failure message (and so in the JUnit XML a CI keeps), not only on
// stderr.
//
//   - the fixture marks the test's start (leakwatch_mark) and, at the end,
//     checks the threads the test created (leakwatch_verify_since_text);
//   - a global environment checks the whole process at the end;
//   - the header works with the library linked (as here), preloaded, or
//     absent (every call then returns "nothing leaked").
//
// DISABLED_LeaksItsWorkers leaks on purpose: run it with
// --gtest_also_run_disabled_tests to see the failure.
#include <atomic>
#include <cstdlib>
#include <gtest/gtest.h>
#include <leakwatch.h>

#include "jobqueue.h"

class LeakCheck : public ::testing::Test {
protected:
  void SetUp() override { mark_ = leakwatch_mark(); }
  void TearDown() override {
    char *leaks = leakwatch_verify_since_text(mark_, 1000);
    EXPECT_EQ(leaks, nullptr) << leaks;
    free(leaks);
  }

private:
  leakwatch_mark_t mark_;
};

class NoLeaksAtTheEnd : public ::testing::Environment {
public:
  void TearDown() override {
    char *leaks = leakwatch_verify_none_text(1000);
    EXPECT_EQ(leaks, nullptr) << leaks;
    free(leaks);
  }
};

static ::testing::Environment *const no_leaks_at_the_end =
    ::testing::AddGlobalTestEnvironment(new NoLeaksAtTheEnd);

TEST_F(LeakCheck, RunsEveryJob) {
  std::atomic<int> done{0};
  JobQueue queue(4);
  for (int i = 0; i < 100; i++)
    queue.Push([&done] { done++; });
  queue.Stop();
  EXPECT_EQ(done.load(), 100);
}

TEST_F(LeakCheck, StopsIdleWorkers) {
  JobQueue queue(2);
  queue.Stop();
  SUCCEED();
}

TEST_F(LeakCheck, DISABLED_LeaksItsWorkers) {
  JobQueue *queue = new JobQueue(3);
  queue->Push([] {});
  queue->Abandon(); // the bug: the workers wait forever
}

// A death test whose child leaves workers behind and exits 3 on its own:
// leakwatch keeps the status (exitcode replaces only a 0), so the death
// test sees 3, in both death test styles.
static void ExitWithWorkersLeft() {
  JobQueue *queue = new JobQueue(2);
  queue->Abandon();
  exit(3);
}

TEST(JobQueueDeathTest, ExitStatusIsKeptFast) {
  GTEST_FLAG_SET(death_test_style, "fast");
  EXPECT_EXIT(ExitWithWorkersLeft(), ::testing::ExitedWithCode(3), "");
}

TEST(JobQueueDeathTest, ExitStatusIsKeptThreadsafe) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitWithWorkersLeft(), ::testing::ExitedWithCode(3), "");
}
