// Stress (label `stress`): on 8 CPUs, 4 tasks change the affinity of 16 victims at random every
// millisecond for CPUSTOP_STRESS_SECONDS (default 30). No task ever runs outside its mask
// (checked by the scheduler at every switch), no task is lost, and a final change always wins.
#include <cstdlib>
#include <random>
#include <thread>

#include "test_util.h"

namespace cpustop {
namespace {

TEST(stress_migrate, random_affinity_changes_never_break_the_mask) {
  boot_params p;
  p.nr_cpus = 8;
  ASSERT_EQ(boot(p), 0);
  const unsigned n = 8;
  std::atomic<bool> stop{false};
  std::vector<pid_t> victims;
  std::vector<std::atomic<long>> progress(16);
  for (int v = 0; v < 16; v++) {
    std::atomic<long>* prog = &progress[static_cast<std::size_t>(v)];
    task_attr a;
    if (v % 4 == 2) {       // rt victims sleep every round: without RT throttling a spinning one
      a.policy = SCHED_RR;  // would starve the fair setters on its CPU
      a.rt_priority = 5;
    }
    victims.push_back(spawn(
        "victim",
        [&stop, prog, v] {
          while (!stop) {
            (*prog)++;
            if (v % 2)
              test::spin_for_ns(100000);
            else
              msleep(1);
            if (v % 5 == 0) {  // a task that also pins itself now and then
              migrate_disable();
              cond_resched();
              migrate_enable();
            }
          }
        },
        a));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(test::stress_seconds());
  std::atomic<long> changes{0}, errors{0};
  std::vector<pid_t> setters;
  for (int k = 0; k < 4; k++)
    setters.push_back(spawn("setter", [&, k] {
      std::mt19937 rng(static_cast<unsigned>(k + 1) * 104729u);
      while (std::chrono::steady_clock::now() < deadline) {
        cpumask m;
        while (m.empty())
          for (unsigned c = 0; c < n; c++)
            if (rng() % 3 == 0) m.set(c);
        pid_t victim = victims[rng() % victims.size()];
        if (sched_setaffinity(victim, m) != 0) errors++;
        changes++;
        msleep(1);
      }
    }));
  for (pid_t s : setters) ASSERT_EQ(join(s, nullptr), 0);
  // A final change for each victim wins.
  for (std::size_t i = 0; i < victims.size(); i++) {
    cpumask last = cpumask::of(static_cast<unsigned>(i) % n);
    ASSERT_EQ(sched_setaffinity(victims[i], last), 0);
    cpumask got;
    ASSERT_EQ(sched_getaffinity(victims[i], &got), 0);
    EXPECT_EQ(got, last);
  }
  // Every victim still runs after its final move: wait for each one's next round.
  std::vector<long> seen;
  for (auto& pr : progress) seen.push_back(pr.load());
  for (std::size_t i = 0; i < progress.size(); i++)
    EXPECT_TRUE(test::wait_until([&] { return progress[i].load() > seen[i]; }))
        << "victim " << i << " stopped running";
  stop = true;
  for (pid_t v : victims) ASSERT_EQ(join(v, nullptr), 0);
  sched_stats st = get_sched_stats();
  std::printf("stress_migrate: %ld affinity changes, %lu affinity moves, %lu balance, %lu active\n",
              changes.load(), static_cast<unsigned long>(st.affinity),
              static_cast<unsigned long>(st.balance),
              static_cast<unsigned long>(st.active_balance));
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(st.affinity_violations, 0u);
  test::check_nothing_left(n);
  EXPECT_EQ(shutdown(), 0);
}

}  // namespace
}  // namespace cpustop
