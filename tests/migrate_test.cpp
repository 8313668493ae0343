// sched_setaffinity through migration/N: running, queued and sleeping tasks, migrate_disable,
// concurrent requests, bad input.
#include <thread>

#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

class migrate : public test::machine {
 protected:
  void TearDown() override {
    trace_event_enable("all", false);
    EXPECT_EQ(get_sched_stats().affinity_violations, 0u);
    test::machine::TearDown();
  }
};
CPUSTOP_INSTANTIATE(migrate);

std::vector<trace_record> named(const std::vector<trace_record>& all, const std::string& event) {
  std::vector<trace_record> out;
  for (const auto& r : all)
    if (r.event == event) out.push_back(r);
  return out;
}

TEST_P(migrate, a_running_task_is_moved_by_its_cpus_stopper) {
  if (ncpus() < 2) GTEST_SKIP() << "needs a second CPU";
  std::atomic<bool> moved{false}, stop{false};
  std::atomic<int> cpu_after{-1};
  task_attr everywhere;
  pid_t pid = spawn(
      "spinner",
      [&] {
        while (!stop) {
          cond_resched();
          if (moved) cpu_after = smp_processor_id();
        }
      },
      on_cpu(0));
  while (true) {
    task_info ti;
    task_get_info(pid, &ti);
    if (ti.sum_exec_runtime > 1000000) break;
    std::this_thread::yield();
  }
  trace_clear();
  trace_event_enable("sched:sched_migrate_task");
  trace_event_enable("stop:*");
  unsigned dest = ncpus() - 1;
  ASSERT_EQ(sched_setaffinity(pid, cpumask::of(dest)), 0);
  moved = true;
  while (cpu_after.load() < 0) std::this_thread::yield();
  EXPECT_EQ(cpu_after.load(), static_cast<int>(dest));
  stop = true;
  ASSERT_EQ(join(pid, nullptr), 0);
  trace_event_enable("all", false);

  auto all = trace_records();
  auto queued = named(all, "cpu_stop_queue");
  auto started = named(all, "cpu_stop_start");
  auto migrated = named(all, "sched_migrate_task");
  ASSERT_FALSE(queued.empty());
  EXPECT_NE(queued[0].fields.find("cpu=0 fn=cpustop::migration_cpu_stop"), std::string::npos)
      << queued[0].fields;
  ASSERT_FALSE(started.empty());
  EXPECT_EQ(started[0].comm, "migration/0");
  bool found = false;
  for (const auto& m : migrated) {
    if (m.fields.find("comm=spinner ") == std::string::npos) continue;
    found = true;
    // Executed by migration/0, with the kernel's fields.
    EXPECT_EQ(m.comm, "migration/0");
    EXPECT_EQ(m.cpu, 0);
    EXPECT_NE(m.fields.find("prio=120 orig_cpu=0 dest_cpu=" + std::to_string(dest)),
              std::string::npos)
        << m.fields;
    EXPECT_GE(m.ts_ns, started[0].ts_ns);
  }
  EXPECT_TRUE(found);
  EXPECT_GE(get_sched_stats().affinity, 1u);
}

TEST_P(migrate, a_queued_task_is_moved_directly_without_the_stopper) {
  if (ncpus() < 2) GTEST_SKIP();
  std::atomic<bool> release{false}, hogging{false};
  std::atomic<int> ran_on{-1};
  // A FIFO hog keeps CPU 0, so the fair task there stays queued.
  pid_t hog = spawn(
      "hog",
      [&] {
        hogging = true;
        while (!release) cond_resched();
      },
      on_cpu(0, SCHED_FIFO, 50));
  while (!hogging) std::this_thread::yield();
  pid_t queued = spawn(
      "queued", [&] { ran_on = smp_processor_id(); }, on_cpu(0));
  task_info ti;
  ASSERT_EQ(task_get_info(queued, &ti), 0);
  EXPECT_EQ(ti.state, 'R');
  trace_clear();
  trace_event_enable("stop:cpu_stop_queue");
  trace_event_enable("sched:sched_migrate_task");
  ASSERT_EQ(sched_setaffinity(queued, cpumask::of(1)), 0);
  ASSERT_EQ(join(queued, nullptr), 0);
  trace_event_enable("all", false);
  EXPECT_EQ(ran_on.load(), 1);
  auto all = trace_records();
  for (const auto& q : named(all, "cpu_stop_queue"))
    EXPECT_EQ(q.fields.find("migration_cpu_stop"), std::string::npos) << q.fields;
  bool found = false;
  for (const auto& m : named(all, "sched_migrate_task"))
    if (m.fields.find("comm=queued ") != std::string::npos) {
      found = true;
      // Moved by the caller itself, a thread outside the logical CPUs: the event carries that
      // thread's host id and lands in the ring after the CPUs'.
      EXPECT_EQ(m.cpu, static_cast<int>(nr_cpu_ids())) << "moved by the caller itself";
      EXPECT_GT(m.pid, 0);
      EXPECT_NE(m.comm, "<...>");
    }
  EXPECT_TRUE(found);
  release = true;
  ASSERT_EQ(join(hog, nullptr), 0);
}

TEST_P(migrate, a_sleeping_task_wakes_on_an_allowed_cpu) {
  if (ncpus() < 2) GTEST_SKIP();
  completion go;
  init_completion(&go);
  std::atomic<int> woke_on{-1};
  task_attr a;
  a.cpus = cpumask::of(0);
  pid_t pid = spawn(
      "sleeper",
      [&] {
        wait_for_completion(&go);
        woke_on = smp_processor_id();
      },
      a);
  ASSERT_TRUE(test::wait_task_state(pid, "D"));
  unsigned dest = ncpus() - 1;
  ASSERT_EQ(sched_setaffinity(pid, cpumask::of(dest)), 0);  // returns at once: nothing to move
  cpumask got;
  ASSERT_EQ(sched_getaffinity(pid, &got), 0);
  EXPECT_EQ(got, cpumask::of(dest));
  complete(&go);
  ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_EQ(woke_on.load(), static_cast<int>(dest));
}

TEST_P(migrate, a_task_can_move_itself) {
  unsigned dest = ncpus() - 1;
  EXPECT_EQ(run_task(
                [dest] {
                  if (sched_setaffinity(0, cpumask::of(dest))) return -1;
                  return smp_processor_id();
                },
                on_cpu(0)),
            static_cast<int>(dest));
}

TEST_P(migrate, migrate_disable_holds_the_task_until_migrate_enable) {
  if (ncpus() < 2) GTEST_SKIP();
  std::atomic<int> phase{0}, naps{0};
  std::atomic<int> cpu_before{-1}, cpu_during{-1}, cpu_after{-1};
  pid_t pid = spawn(
      "pinned",
      [&] {
        migrate_disable();
        cpu_before = smp_processor_id();
        phase = 1;
        while (phase.load() < 2) {  // sleeps and wakes with migration disabled
          msleep(1);
          naps++;
        }
        cpu_during = smp_processor_id();
        migrate_enable();
        cpu_after = smp_processor_id();
      },
      on_cpu(0));
  while (phase.load() < 1) std::this_thread::yield();
  std::atomic<bool> set_done{false};
  pid_t setter = spawn("setter", [&] {
    int r = sched_setaffinity(pid, cpumask::of(1));
    set_done = true;
    return r;
  });
  // The setter blocks on the request, and the pinned task wakes twice more on CPU 0 (each wakeup
  // a moment where a move would happen) while the request still waits.
  ASSERT_TRUE(test::wait_task_state(setter, "D"));
  int seen = naps.load();
  ASSERT_TRUE(test::wait_until([&] { return naps.load() >= seen + 2; }));
  EXPECT_FALSE(set_done.load()) << "the request waits for migrate_enable";
  phase = 2;
  int code = -1;
  ASSERT_EQ(join(setter, &code), 0);
  EXPECT_EQ(code, 0);
  ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_EQ(cpu_before.load(), 0);
  EXPECT_EQ(cpu_during.load(), 0);
  EXPECT_EQ(cpu_after.load(), 1);
}

// Regressions 8a6edb5257e2 / 9e81889c7648: concurrent affinity changes of one running task share
// a single pending request; everyone completes and no stale request is left.
TEST_P(migrate, concurrent_setaffinity_on_one_running_task_all_complete) {
  std::atomic<bool> stop{false};
  pid_t victim = spawn("victim", [&] {
    while (!stop) cond_resched();
  });
  std::vector<pid_t> setters;
  for (int k = 0; k < 4; k++)
    setters.push_back(spawn("setter", [&, k] {
      for (int i = 0; i < 200; i++) {
        unsigned c = static_cast<unsigned>(k + i) % ncpus();
        cpumask m = cpumask::of(c);
        if (i % 3 == 0) m.set((c + 1) % ncpus());
        if (sched_setaffinity(victim, m)) return 1;
      }
      return 0;
    }));
  for (pid_t s : setters) {
    int code = -1;
    ASSERT_EQ(join(s, &code), 0);
    EXPECT_EQ(code, 0);
  }
  unsigned last = ncpus() / 2;
  ASSERT_EQ(sched_setaffinity(victim, cpumask::of(last)), 0);
  cpumask m;
  ASSERT_EQ(sched_getaffinity(victim, &m), 0);
  EXPECT_EQ(m, cpumask::of(last));
  task_info ti;
  test::wait_until(
      [&] { return task_get_info(victim, &ti) == 0 && ti.cpu == static_cast<int>(last); });
  EXPECT_EQ(ti.cpu, static_cast<int>(last));
  stop = true;
  ASSERT_EQ(join(victim, nullptr), 0);
}

TEST_P(migrate, bad_affinity_input_is_refused_and_changes_nothing) {
  std::atomic<bool> release{false};
  pid_t pid = spawn("idle", [&] {
    while (!release) msleep(1);
  });
  cpumask before;
  ASSERT_EQ(sched_getaffinity(pid, &before), 0);
  EXPECT_EQ(before, cpumask::first_n(ncpus()));
  EXPECT_EQ(sched_setaffinity(pid, cpumask{}), -EINVAL);
  EXPECT_EQ(sched_setaffinity(pid, cpumask::of(ncpus())), -EINVAL);  // beyond nr_cpu_ids
  EXPECT_EQ(sched_setaffinity(987654, cpumask::of(0)), -ESRCH);
  cpumask m;
  EXPECT_EQ(sched_getaffinity(987654, &m), -ESRCH);
  cpumask after;
  ASSERT_EQ(sched_getaffinity(pid, &after), 0);
  EXPECT_EQ(after, before);
  // Bits beyond nr_cpu_ids are truncated, as sched_setaffinity(2) does.
  cpumask wide = cpumask::of(0);
  wide.set(ncpus() + 3);
  EXPECT_EQ(sched_setaffinity(pid, wide), 0);
  ASSERT_EQ(sched_getaffinity(pid, &after), 0);
  EXPECT_EQ(after, cpumask::of(0));
  // Per-CPU kernel threads refuse (PF_NO_SETAFFINITY).
  for (const task_info& t : task_list()) {
    if (t.comm != "migration/0" && t.comm != "ksoftirqd/0") continue;
    EXPECT_EQ(sched_setaffinity(t.pid, cpumask::first_n(ncpus())), -EINVAL) << t.comm;
  }
  release = true;
  ASSERT_EQ(join(pid, nullptr), 0);
}

// ---- Load balancing ----------------------------------------------------------------------------

class balance : public test::machine {};
INSTANTIATE_TEST_SUITE_P(cpus, balance, ::testing::Values(2u, 4u, 8u), test::cpus_name);

TEST_P(balance, runnable_tasks_started_on_one_cpu_spread_out) {
  const unsigned n = 2 * ncpus();
  std::atomic<bool> stop{false};
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < n; i++)
    pids.push_back(spawn(
        "hog",
        [&] {
          while (!stop) cond_resched();
        },
        on_cpu(0)));
  // Widening the mask does not move them (CPU 0 stays allowed): the balancer has to.
  for (pid_t pid : pids) ASSERT_EQ(sched_setaffinity(pid, cpumask::first_n(ncpus())), 0);
  std::vector<unsigned> per_cpu(ncpus());
  bool spread = false;
  test::wait_until([&] {
    std::fill(per_cpu.begin(), per_cpu.end(), 0u);
    for (pid_t pid : pids) {
      task_info ti;
      if (task_get_info(pid, &ti) == 0) per_cpu[static_cast<unsigned>(ti.cpu)]++;
    }
    spread = *std::min_element(per_cpu.begin(), per_cpu.end()) >= 1 &&
             *std::max_element(per_cpu.begin(), per_cpu.end()) <= 3;
    return spread;
  });
  stop = true;
  for (pid_t pid : pids) ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_TRUE(spread);
  EXPECT_GT(get_sched_stats().balance, 0u);
}

TEST_P(balance, a_hog_sharing_its_cpu_with_a_pinned_task_moves_away) {
  std::atomic<bool> stop{false};
  // B is pinned to CPU 0 and nearly never runs (SCHED_IDLE): the hog can move only when the
  // balancer pulls it while queued or, when it is the one running, pushes it via the stopper.
  pid_t b = spawn(
      "pinned",
      [&] {
        while (!stop) cond_resched();
      },
      on_cpu(0, SCHED_IDLE));
  pid_t hog = spawn(
      "hog",
      [&] {
        while (!stop) cond_resched();
      },
      on_cpu(0));
  ASSERT_EQ(sched_setaffinity(hog, cpumask::first_n(ncpus())), 0);
  task_info ti;
  test::wait_until([&] { return task_get_info(hog, &ti) == 0 && ti.cpu != 0; });
  stop = true;
  ASSERT_EQ(join(hog, nullptr), 0);
  ASSERT_EQ(join(b, nullptr), 0);
  EXPECT_NE(ti.cpu, 0);
  EXPECT_GE(get_sched_stats().balance + get_sched_stats().active_balance, 1u);
}

// Two SMT siblings each run one hog while another core is idle: nothing is queued anywhere, so
// only active balancing (the busiest CPU's stopper pushing its running task) can spread them.
class balance_smt : public test::machine {
  void customize(boot_params& p) override { p.topology = "smt=2"; }
};
INSTANTIATE_TEST_SUITE_P(cpus, balance_smt, ::testing::Values(4u, 8u), test::cpus_name);

TEST_P(balance_smt, a_hog_alone_on_a_busy_core_is_pushed_to_an_idle_core) {
  EXPECT_NE(sched_domains_text(2).find("SMT 2-3"), std::string::npos) << sched_domains_text(2);
  // The hogs start on the siblings of core 1. Should a hog be preempted for a moment (a kernel
  // thread), an idle CPU may also pull it while queued, which is fine; the scenario repeats until
  // the stopper did the move.
  bool by_stopper = false, spread = false;
  std::string moves;  // the last attempt's migrations as ftrace text, shown on failure
  for (int attempt = 0; attempt < 10 && !by_stopper; attempt++) {
    std::atomic<bool> stop{false};
    trace_clear();
    trace_event_enable("sched:sched_migrate_task");
    std::vector<pid_t> hogs;
    for (unsigned c : {2u, 3u})
      hogs.push_back(spawn(
          "hog" + std::to_string(c),
          [&] {
            while (!stop) cond_resched();
          },
          on_cpu(c)));
    for (pid_t h : hogs) ASSERT_EQ(sched_setaffinity(h, cpumask::first_n(ncpus())), 0);
    spread = test::wait_until([&] {
      task_info a, b;
      task_get_info(hogs[0], &a);
      task_get_info(hogs[1], &b);
      return a.cpu / 2 != b.cpu / 2;  // on different cores
    });
    stop = true;
    for (pid_t h : hogs) ASSERT_EQ(join(h, nullptr), 0);
    trace_event_enable("all", false);
    for (const auto& r : trace_records())
      if (r.event == "sched_migrate_task" && r.comm.rfind("migration/", 0) == 0 &&
          r.fields.find("comm=hog") != std::string::npos)
        by_stopper = true;
    if (!by_stopper) moves = trace_text();
    EXPECT_TRUE(spread) << "attempt " << attempt;
  }
  EXPECT_TRUE(by_stopper) << "the push is executed by migration/N; last attempt's moves:\n"
                          << moves;
  EXPECT_GE(get_sched_stats().active_balance, 1u);
}

}  // namespace
}  // namespace cpustop
