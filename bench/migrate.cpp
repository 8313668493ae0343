// `cpustop bench migrate`: the latency of moving a running task, from the affinity change until
// its first instruction on the new CPU. Ours: sched_setaffinity() of a task spinning on CPU 0
// (through migration/0). The kernel's: sched_setaffinity() of a thread spinning on hardware CPU 0
// until sched_getcpu() reports CPU 1. Both run alternately in one process, the kernel's while no
// logical CPU is up. With idle=halt the target CPU is given time to really halt before each move.
#include <pthread.h>
#include <sched.h>

#include <fmt/core.h>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int ROUNDS = 200;

// One move request and its answer. The request word carries a round number with the target, so
// that the spinner never answers a new round with an arrival it saw for the previous one.
struct move_probe {
  std::atomic<unsigned> request{0};  // round << 1 | target index
  std::atomic<unsigned> answered{~0u};
  bench_clock::time_point arrived;  // published by `answered`
  std::atomic<bool> stop{false};

  // Spinner side: call in the loop with the index of the CPU it runs on now; true when this
  // call answered a request.
  bool poll(int here) {
    unsigned req = request.load(std::memory_order_acquire);
    if (here != static_cast<int>(req & 1) || answered.load(std::memory_order_relaxed) == req)
      return false;
    arrived = bench_clock::now();
    answered.store(req, std::memory_order_release);
    answered.notify_one();  // after the stamp: the mover sleeps until then
    return true;
  }
  // Mover side: waits until the spinner runs on index 0, where every spinner starts.
  void wait_started() {
    for (unsigned seen; (seen = answered.load(std::memory_order_acquire)) != 0;)
      answered.wait(seen, std::memory_order_acquire);
  }
  // Mover side: asks for `to` in round r, runs move(), returns ns until the spinner was there.
  // A mover inside cpustop passes its own sleep for the answer.
  template <typename Move>
  double measure(int r, int to, Move move) {
    return measure(r, to, move,
                   [&](unsigned seen) { answered.wait(seen, std::memory_order_acquire); });
  }
  template <typename Move, typename Wait>
  double measure(int r, int to, Move move, Wait wait) {
    unsigned req = static_cast<unsigned>(r + 1) << 1 | static_cast<unsigned>(to);
    request.store(req, std::memory_order_release);
    auto t0 = bench_clock::now();
    move();
    // Block rather than spin or poll: the arrival is stamped by the spinner, and a running mover
    // would take a host core from the spinner or from the logical CPUs.
    for (unsigned seen; (seen = answered.load(std::memory_order_acquire)) != req;) wait(seen);
    return ns_between(t0, arrived);
  }
};

// Our spinner: a task started on CPU 0 that answers the probe, and completes `arrived` (if any)
// after each answer.
pid_t spawn_spinner(move_probe& probe, completion* arrived) {
  task_attr a;
  a.cpus = cpumask::of(0);
  return spawn(
      "spinner",
      [&probe, arrived] {
        while (!probe.stop.load(std::memory_order_relaxed)) {
          if (probe.poll(smp_processor_id()) && arrived) complete(arrived);
          cond_resched();
        }
      },
      a);
}

// The spinner starts on index 0 and each round moves it to the other one. The mover is a task,
// as the kernel's mover is a thread of the scheduler it measures, and it sits on the destination
// CPU, where the kernel puts its mover: the CPU the spinner left idle (sched_getcpu() found the
// kernel's mover there in 200 of 200 rounds). Repositioning our mover between rounds is untimed.
double ours_migrate(bool settle) {
  move_probe probe;
  completion arrived;
  init_completion(&arrived);
  pid_t spinner = spawn_spinner(probe, &arrived);
  std::vector<double> samples;
  task_attr a;
  a.cpus = cpumask::of(1);
  pid_t mover = spawn(
      "mover",
      [&] {
        wait_for_completion(&arrived);  // the spinner runs on CPU 0
        for (int r = 0; r < ROUNDS; r++) {
          unsigned to = (r % 2) ? 0 : 1;
          sched_setaffinity(getpid(), cpumask::of(to));
          if (settle) usleep(200);
          samples.push_back(probe.measure(
              r, static_cast<int>(to), [&] { sched_setaffinity(spinner, cpumask::of(to)); },
              [&](unsigned) { wait_for_completion(&arrived); }));
        }
      },
      a);
  join(mover, nullptr);
  probe.stop = true;
  join(spinner, nullptr);
  return median(samples);
}

// The same from an OS thread outside cpustop, the caller a thread-per-core server's control
// thread would be. With idle=poll it has no host core of its own: the host switches it in and
// out of a core that runs a logical CPU.
double external_migrate(bool settle) {
  move_probe probe;
  pid_t pid = spawn_spinner(probe, nullptr);
  probe.wait_started();
  std::vector<double> samples;
  for (int r = 0; r < ROUNDS; r++) {
    int to = (r % 2) ? 0 : 1;
    if (settle) std::this_thread::sleep_for(std::chrono::microseconds(200));
    samples.push_back(probe.measure(
        r, to, [&] { sched_setaffinity(pid, cpumask::of(static_cast<unsigned>(to))); }));
  }
  probe.stop = true;
  join(pid, nullptr);
  return median(samples);
}

double kernel_migrate(bool settle) {
  move_probe probe;
  std::thread spinner([&] {
    pin_self(0);
    while (!probe.stop.load(std::memory_order_relaxed)) {
      int cpu = sched_getcpu();
      probe.poll(cpu == hw_cpu(0) ? 0 : cpu == hw_cpu(1) ? 1 : -1);
    }
  });
  pthread_t handle = spinner.native_handle();
  probe.wait_started();  // its own pin_self(0) must not override the first move
  std::vector<double> samples;
  for (int r = 0; r < ROUNDS; r++) {
    int to = (r % 2) ? 0 : 1;
    if (settle) std::this_thread::sleep_for(std::chrono::microseconds(200));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(hw_cpu(static_cast<unsigned>(to)), &set);
    samples.push_back(
        probe.measure(r, to, [&] { pthread_setaffinity_np(handle, sizeof(set), &set); }));
  }
  probe.stop = true;
  spinner.join();
  return median(samples);
}

// One round of ours on a machine booted for it; the kernel's rounds run with no machine up, so
// that no polling logical CPU competes with its spinner for the host cores.
double on_machine(idle_mode idle, double (*mover)(bool)) {
  boot_params p;
  p.nr_cpus = 2;
  p.idle = idle;
  machine m(p);
  if (!m.ok()) return -1;
  return mover(idle == idle_mode::halt);
}

int run() {
  if (hw_cpus() < 2) {
    fmt::print("migrate: needs two hardware CPUs\n");
    return 1;
  }
  std::vector<double> task, external, kernel;
  for (idle_mode idle : {idle_mode::poll, idle_mode::halt}) {
    bool settle = idle == idle_mode::halt;
    std::vector<spread> r =
        alternate({{"kernel", [settle] { return kernel_migrate(settle); }},
                   {"task", [idle] { return on_machine(idle, ours_migrate); }},
                   {"external", [idle] { return on_machine(idle, external_migrate); }}});
    const char* mode = settle ? "halt" : "poll";
    report(fmt::format("migrate_{}", mode), r[1], "kernel_setaffinity", r[0]);
    report(fmt::format("migrate_external_{}", mode), r[2], "kernel_setaffinity", r[0]);
    kernel.push_back(r[0].median());
    task.push_back(r[1].median());
    external.push_back(r[2].median());
  }
  section("migrate: affinity change of a running task until it runs on the new CPU, median ns");
  fmt::print("mover a task:          idle=poll {:.1f}  idle=halt {:.1f}\n", task[0], task[1]);
  fmt::print("mover an OS thread:    idle=poll {:.1f}  idle=halt {:.1f}\n", external[0],
             external[1]);
  fmt::print("kernel (thread moves thread): idle=poll {:.1f}  idle=halt {:.1f}\n", kernel[0],
             kernel[1]);
  return 0;
}

registrar reg("migrate", "move a running task by affinity vs the kernel's sched_setaffinity", run);

}  // namespace

}  // namespace cpustop::bench
