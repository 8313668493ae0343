// Stress (label `stress`): a port of the kernel's torture_onoff. On 8 logical CPUs random CPUs
// (never the last online one) go offline and online for CPUSTOP_STRESS_SECONDS (default 30) while
// stop_machine, stop_two_cpus and stop_one_cpu_nowait storms, affinity changes and 1000 tasks (250
// under TSan) run. No task is lost, no work is lost or run twice, work sent to an offline CPU is
// refused, and each CPU's per-CPU threads are parked exactly while it is offline.
#include <cstdlib>
#include <random>
#include <thread>

#include "test_util.h"

namespace cpustop {
namespace {

struct once_item {
  std::atomic<int> runs{0};
};

int run_once(void* arg) {
  static_cast<once_item*>(arg)->runs.fetch_add(1);
  return 0;
}

// Empty when cpu's four per-CPU threads are parked exactly while it is offline; else what is
// wrong.
std::string parking_error(unsigned cpu, bool online) {
  std::string c = std::to_string(cpu);
  int seen = 0;
  std::string bad;
  for (const task_info& t : task_list()) {
    if (t.comm != "cpuhp/" + c && t.comm != "migration/" + c && t.comm != "ksoftirqd/" + c &&
        t.comm != "kworker/" + c + ":0")
      continue;
    seen++;
    if ((t.state == 'P') == online)
      bad += t.comm + " is " + t.state + " after cpu_" + (online ? "up" : "down") + "; ";
  }
  if (seen != 4) bad += std::to_string(seen) + " per-CPU threads of cpu" + c + "; ";
  return bad;
}

TEST(stress_hotplug, torture_onoff_under_stop_and_affinity_storms) {
  boot_params p;
  p.nr_cpus = 8;
  ASSERT_EQ(boot(p), 0);
  const unsigned n = 8;
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0}, calls{0}, refused{0};

  // 1000 tasks that sleep and spin. Under TSan 250: each of its wakeups costs so much that the
  // 667 short sleepers alone overload the CPUs left online, and CFS (GENTLE_FAIR_SLEEPERS, a
  // wakeup credit of half the latency) then keeps the woken cpuhp/N behind them for many
  // minutes: the herd starvation EEVDF removed, not a hotplug fault.
#if defined(__SANITIZE_THREAD__)
  const int ntasks = 250;
#else
  const int ntasks = 1000;
#endif
  std::vector<pid_t> tasks;
  std::atomic<long> finished{0};
  for (int i = 0; i < ntasks; i++)
    tasks.push_back(spawn("worker", [&, i] {
      while (!stop) {
        if (i % 3)
          msleep(static_cast<unsigned>(1 + i % 5));
        else
          test::spin_for_ns(30000);
      }
      finished++;
    }));

  auto random_cpu = [n](std::mt19937& rng) { return static_cast<unsigned>(rng() % n); };
  auto check = [&](int ret, const once_item& w, int expect_runs) {
    calls++;
    if (ret == -ENOENT) {
      refused++;
      if (w.runs.load() != 0) errors++;
    } else if (ret != 0 || w.runs.load() != expect_runs) {
      errors++;
    }
  };
  std::vector<pid_t> storms;
  storms.push_back(spawn("machine", [&] {
    std::mt19937 rng(1);
    while (!stop) {
      once_item w;
      int ret = stop_machine(run_once, &w, nullptr);
      check(ret, w, 1);
    }
  }));
  storms.push_back(spawn("pairs", [&] {
    std::mt19937 rng(2);
    while (!stop) {
      unsigned a = random_cpu(rng), b = (a + 1 + static_cast<unsigned>(rng() % (n - 1))) % n;
      once_item w;
      check(stop_two_cpus(a, b, run_once, &w), w, 1);
    }
  }));
  storms.push_back(spawn("nowait", [&] {
    std::mt19937 rng(3);
    while (!stop) {
      once_item w;
      cpu_stop_work buf;
      if (!stop_one_cpu_nowait(random_cpu(rng), run_once, &w, &buf)) {
        check(-ENOENT, w, 0);
        continue;
      }
      // buf is free once fn has started, and fn's last access to w is its count.
      while (w.runs.load() == 0) cond_resched();
      check(0, w, 1);
    }
  }));
  storms.push_back(spawn("affinity", [&] {
    std::mt19937 rng(4);
    while (!stop) {
      cpumask m;
      while (m.empty())
        for (unsigned c = 0; c < n; c++)
          if (rng() % 2) m.set(c);
      int ret = sched_setaffinity(tasks[rng() % tasks.size()], m);
      if (ret != 0 && ret != -EINVAL) errors++;  // -EINVAL: no active CPU in m just now
      msleep(1);
    }
  }));

  // torture_onoff: toggle a random CPU, never the last online one.
  std::mt19937 rng(5);
  long downs = 0, ups = 0, bad_parking = 0;
  // For the stress time, and at least until 6 CPUs went down: a slow host (a sanitizer, a
  // shared core) makes fewer rounds in the time, never fewer than the test asserts on.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(test::stress_seconds());
  while (std::chrono::steady_clock::now() < deadline || downs <= 5) {
    unsigned cpu = random_cpu(rng);
    if (cpu_online(static_cast<int>(cpu))) {
      if (num_online_cpus() == 1) continue;
      ASSERT_EQ(cpu_down(cpu), 0) << "cpu" << cpu;
      downs++;
      if (std::string e = parking_error(cpu, false); !e.empty()) bad_parking++, ADD_FAILURE() << e;
    } else {
      ASSERT_EQ(cpu_up(cpu), 0) << "cpu" << cpu;
      ups++;
      if (std::string e = parking_error(cpu, true); !e.empty()) bad_parking++, ADD_FAILURE() << e;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (unsigned c = 0; c < n; c++) {
    if (!cpu_online(static_cast<int>(c))) {
      ASSERT_EQ(cpu_up(c), 0);
    }
  }
  stop = true;
  for (pid_t s : storms) ASSERT_EQ(join(s, nullptr), 0);
  for (pid_t t : tasks) ASSERT_EQ(join(t, nullptr), 0);
  std::printf("torture_onoff: %ld offline, %ld online; %ld stop calls (%ld refused), %ld errors\n",
              downs, ups, calls.load(), refused.load(), errors.load());
  EXPECT_EQ(finished.load(), ntasks) << "tasks lost";
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(bad_parking, 0);
  EXPECT_GT(downs, 5);
  EXPECT_EQ(get_sched_stats().affinity_violations, 0u);
  test::check_nothing_left(n);
  EXPECT_EQ(shutdown(), 0);
}

}  // namespace
}  // namespace cpustop
