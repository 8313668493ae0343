// `cpustop bench migrate`: the latency of moving a running task, from the affinity change until
// its first instruction on the new CPU. Ours: sched_setaffinity() of a task spinning on CPU 0
// (through migration/0). The kernel's: sched_setaffinity() of a thread spinning on hardware CPU 0
// until sched_getcpu() reports CPU 1. Both run alternately in one process. With idle=halt the
// target CPU is given time to really halt before each move.
#include <pthread.h>
#include <sched.h>

#include <fmt/core.h>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int ROUNDS = 200;

double ours_migrate(bool settle) {
  std::atomic<int> target{0};
  std::atomic<bool> stop{false};
  std::atomic<bench_clock::time_point> arrived{};
  task_attr a;
  a.cpus = cpumask::of(0);
  pid_t pid = spawn(
      "spinner",
      [&] {
        while (!stop.load(std::memory_order_relaxed)) {
          int want = target.load(std::memory_order_acquire);
          if (smp_processor_id() == want && arrived.load() == bench_clock::time_point{})
            arrived = bench_clock::now();
          cond_resched();
        }
      },
      a);
  std::vector<double> samples;
  for (int r = 0; r < ROUNDS; r++) {
    int to = (r % 2) ? 0 : 1;
    if (settle) std::this_thread::sleep_for(std::chrono::microseconds(200));
    arrived = bench_clock::time_point{};
    target.store(to, std::memory_order_release);
    auto t0 = bench_clock::now();
    sched_setaffinity(pid, cpumask::of(static_cast<unsigned>(to)));
    while (arrived.load() == bench_clock::time_point{}) std::this_thread::yield();
    samples.push_back(ns_between(t0, arrived.load()));
  }
  stop = true;
  join(pid, nullptr);
  return median(samples);
}

double kernel_migrate(bool settle) {
  std::atomic<int> target{0};
  std::atomic<bool> stop{false};
  std::atomic<bench_clock::time_point> arrived{};
  std::vector<int> hw;
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    for (int i = 0; i < CPU_SETSIZE && hw.size() < 2; i++)
      if (CPU_ISSET(i, &set)) hw.push_back(i);
  }
  std::thread spinner([&] {
    pin_self(0);
    while (!stop.load(std::memory_order_relaxed)) {
      int want = target.load(std::memory_order_acquire);
      if (sched_getcpu() == hw[static_cast<std::size_t>(want)] &&
          arrived.load() == bench_clock::time_point{})
        arrived = bench_clock::now();
    }
  });
  pthread_t handle = spinner.native_handle();
  std::vector<double> samples;
  for (int r = 0; r < ROUNDS; r++) {
    int to = (r % 2) ? 0 : 1;
    if (settle) std::this_thread::sleep_for(std::chrono::microseconds(200));
    arrived = bench_clock::time_point{};
    target.store(to, std::memory_order_release);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(hw[static_cast<std::size_t>(to)], &set);
    auto t0 = bench_clock::now();
    pthread_setaffinity_np(handle, sizeof(set), &set);
    while (arrived.load() == bench_clock::time_point{}) std::this_thread::yield();
    samples.push_back(ns_between(t0, arrived.load()));
  }
  stop = true;
  spinner.join();
  return median(samples);
}

int run() {
  if (hw_cpus() < 2) {
    fmt::print("migrate: needs two hardware CPUs\n");
    return 1;
  }
  pair_result poll, halt;
  {
    boot_params p;
    p.nr_cpus = 2;
    p.idle = idle_mode::poll;
    machine m(p);
    if (!m.ok()) return 1;
    poll = interleave(
        5, [] { return ours_migrate(false); }, [] { return kernel_migrate(false); });
  }
  {
    boot_params p;
    p.nr_cpus = 2;
    machine m(p);
    if (!m.ok()) return 1;
    halt = interleave(
        5, [] { return ours_migrate(true); }, [] { return kernel_migrate(true); });
  }
  section("migrate: affinity change of a running task until it runs on the new CPU, median ns");
  fmt::print("idle=poll {:.1f} (kernel {:.1f}); idle=halt {:.1f} (kernel {:.1f})\n", poll.ours,
             poll.peer, halt.ours, halt.peer);
  report("migrate_poll", poll.ours, "kernel_setaffinity", poll.peer);
  report("migrate_halt", halt.ours, "kernel_setaffinity", halt.peer);
  return 0;
}

registrar reg("migrate", "move a running task by affinity vs the kernel's sched_setaffinity", run);

}  // namespace

}  // namespace cpustop::bench
