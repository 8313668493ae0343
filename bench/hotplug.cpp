// `cpustop bench hotplug`: cpu_down() and cpu_up() of logical CPU 1 while it carries 1000
// runnable tasks (allowed everywhere, so cpu_down moves each of them to CPU 0). The timed span is
// the call alone; putting the tasks back on CPU 1 between rounds is not timed.
//
// The peer is figure h of ../shared/reference/peer-baselines.md, the real kernel offlining and
// onlining cpu1 through sysfs on this machine kind. It is a recorded figure, not measured here:
// unplugging a real CPU would reset every other process's affinity.
#include <fmt/core.h>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int NR_TASKS = 1000;
constexpr int ROUNDS = 15;
constexpr double KERNEL_OFFLINE_NS = 51e6;
constexpr double KERNEL_ONLINE_NS = 28e6;

int count_on(const std::vector<pid_t>& pids, int cpu) {
  int n = 0;
  for (pid_t pid : pids) {
    task_info ti;
    if (task_get_info(pid, &ti) == 0 && ti.cpu == cpu) n++;
  }
  return n;
}

int run() {
  boot_params p;
  p.nr_cpus = 2;
  machine m(p);
  if (!m.ok()) return 1;

  std::atomic<bool> stop{false};
  std::vector<pid_t> pids;
  task_attr a;
  a.cpus = cpumask::of(1);
  for (int i = 0; i < NR_TASKS; i++) {
    pid_t pid = spawn(
        "carried",
        [&] {
          while (!stop.load(std::memory_order_relaxed)) sched_yield();
        },
        a);
    if (pid <= 0) {
      fmt::print("hotplug: spawn failed: {}\n", pid);
      return 1;
    }
    pids.push_back(pid);
  }

  // One set of rounds; the medians go into the vectors. 0, or the first error.
  std::vector<double> carried;
  auto rounds = [&](std::vector<double>& down_ns, std::vector<double>& up_ns) {
    for (int r = 0; r < ROUNDS; r++) {
      // Gather the tasks on CPU 1, then allow them everywhere: cpu_down has to move them. A
      // helper does it so that the caller has not used up its fair share when it is timed.
      in_task([&] {
        for (pid_t pid : pids) sched_setaffinity(pid, cpumask::of(1));
        for (pid_t pid : pids) sched_setaffinity(pid, cpumask::first_n(2));
        carried.push_back(count_on(pids, 1));
        return 0.0;
      });
      auto t0 = bench_clock::now();
      if (int err = cpu_down(1)) return err;
      auto t1 = bench_clock::now();
      if (count_on(pids, 0) != NR_TASKS) return -EEXIST;  // a task stayed on the offline CPU
      auto t2 = bench_clock::now();
      if (int err = cpu_up(1)) return err;
      auto t3 = bench_clock::now();
      down_ns.push_back(ns_between(t0, t1));
      up_ns.push_back(ns_between(t2, t3));
    }
    return 0;
  };
  // Ours: called from a task on CPU 0, as the kernel's hotplug is driven from a task. For
  // comparison, from an OS thread outside cpustop, which the host schedules against the CPUs.
  std::vector<double> down_ns, up_ns, down_os, up_os;
  task_attr on0;
  on0.cpus = cpumask::of(0);
  double err = in_task([&] { return static_cast<double>(rounds(down_ns, up_ns)); }, on0);
  if (!err) err = rounds(down_os, up_os);
  stop = true;
  for (pid_t pid : pids) join(pid, nullptr);
  if (err) {
    fmt::print("hotplug: a round failed: {}\n", err);
    return 1;
  }

  section("hotplug: logical cpu1 carrying 1000 runnable tasks, median of 15, ns");
  fmt::print(
      "cpu_down {:.0f} (kernel, recorded: {:.0f}); cpu_up {:.0f} (kernel, recorded: {:.0f})\n",
      median(down_ns), KERNEL_OFFLINE_NS, median(up_ns), KERNEL_ONLINE_NS);
  fmt::print("called from an OS thread outside cpustop instead: cpu_down {:.0f}; cpu_up {:.0f}\n",
             median(down_os), median(up_os));
  fmt::print(
      "tasks on cpu1 when cpu_down began: median {:.0f} of {} (the balancer spreads the rest)\n",
      median(carried), NR_TASKS);
  fmt::print("the kernel figures are peer-baselines.md figure h, not measured in this run\n");
  report("cpu_down_1000_tasks", spread{down_ns}, "kernel_sysfs_offline_recorded",
         recorded(KERNEL_OFFLINE_NS, ROUNDS));
  report("cpu_up_1000_tasks", spread{up_ns}, "kernel_sysfs_online_recorded",
         recorded(KERNEL_ONLINE_NS, ROUNDS));
  return 0;
}

registrar reg("hotplug", "cpu_down/cpu_up of a CPU carrying 1000 tasks vs the kernel's sysfs", run);

}  // namespace

}  // namespace cpustop::bench
