// Shared helpers: a fixture that boots a machine per test (parameterised over CPU counts) and
// checks on teardown that nothing is left over.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "cpustop/cpustop.h"

namespace cpustop::test {

inline constexpr unsigned kCpuCounts[] = {1, 2, 4, 8};

// How long a stress test runs: CPUSTOP_STRESS_SECONDS, default 30.
inline int stress_seconds() {
  const char* s = std::getenv("CPUSTOP_STRESS_SECONDS");
  return s ? std::max(1, std::atoi(s)) : 30;
}

// Waits until done() holds, looking every millisecond. A wait on an event, not a race with the
// clock: the limit (default 30 s) only turns a hang into a failure, so it is far above any
// legitimate delay on a loaded host. Returns done()'s last result.
template <class Done>
bool wait_until(Done&& done, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Waits until task pid is in one of the states (letters of ps: "D", "SD", "P"), e.g. blocked on
// what the test is about to release. False if it never gets there (or is gone).
inline bool wait_task_state(pid_t pid, std::string_view states) {
  return wait_until([&] {
    task_info ti;
    return task_get_info(pid, &ti) == 0 && states.find(ti.state) != std::string_view::npos;
  });
}

// Waits until task pid has run (its sum_exec_runtime is above zero).
inline bool wait_task_ran(pid_t pid) {
  return wait_until([&] {
    task_info ti;
    return task_get_info(pid, &ti) == 0 && ti.sum_exec_runtime > 0;
  });
}

// Spins (in a task, with preemption points) for about ns of wall time.
inline void spin_for_ns(std::uint64_t ns) {
  auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < end) cond_resched();
}

// Runs fn as a task (with attributes attr) and returns its exit code.
template <class F>
int run_task(F&& fn, const task_attr& attr = {}) {
  pid_t pid = spawn("test", std::forward<F>(fn), attr);
  EXPECT_GT(pid, 0);
  if (pid <= 0) return pid;
  int code = -1;
  EXPECT_EQ(join(pid, &code), 0);
  return code;
}

// Waits until pid is gone (kthread_stop returns before the thread has finished exiting, as in
// the kernel). False if it never goes.
inline bool wait_gone(pid_t pid) {
  return wait_until([&] {
    task_info ti;
    return task_get_info(pid, &ti) == -ESRCH;
  });
}

inline task_attr on_cpu(unsigned cpu, int policy = SCHED_NORMAL, int prio = 0) {
  task_attr a;
  a.policy = policy;
  a.rt_priority = prio;
  a.cpus = cpumask::of(cpu);
  return a;
}

inline void check_nothing_left(unsigned nr_cpus) {
  EXPECT_EQ(num_online_cpus(), nr_cpus) << "an offline CPU is left over";
  for (unsigned c = 0; c < nr_cpus; c++) EXPECT_EQ(cpu_stop_queued(c), 0u) << "cpu" << c;
  for (const task_info& t : task_list())
    EXPECT_TRUE(t.kthread || t.pid == 1) << "task " << t.pid << " (" << t.comm << ") left over";
}

class machine : public ::testing::TestWithParam<unsigned> {
 protected:
  virtual void customize(boot_params&) {}
  void SetUp() override {
    boot_params p;
    p.nr_cpus = GetParam();
    customize(p);
    ASSERT_EQ(boot(p), 0);
  }
  void TearDown() override {
    check_nothing_left(GetParam());
    EXPECT_EQ(shutdown(), 0);
  }
  unsigned ncpus() const { return GetParam(); }
};

inline std::string cpus_name(const ::testing::TestParamInfo<unsigned>& info) {
  return std::to_string(info.param) + "cpus";
}

#define CPUSTOP_INSTANTIATE(fixture)                                                        \
  INSTANTIATE_TEST_SUITE_P(cpus, fixture, ::testing::ValuesIn(::cpustop::test::kCpuCounts), \
                           ::cpustop::test::cpus_name)

}  // namespace cpustop::test
