// `cpustop bench wakeup`: wake a task sleeping on the other CPU until it runs (a completion
// ping-pong between tasks on CPU 0 and CPU 1), against a futex ping-pong between two OS threads
// pinned to the two hardware CPUs. Nanoseconds per one-way wakeup.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int N = 2000;

double ours_pingpong(bool cold) {
  return in_task([cold] {
    completion to_b, to_a;
    init_completion(&to_b);
    init_completion(&to_a);
    task_attr on0, on1;
    on0.cpus = cpumask::of(0);
    on1.cpus = cpumask::of(1);
    double total = 0;
    pid_t b = spawn(
        "pong",
        [&] {
          for (int i = 0; i < N; i++) {
            wait_for_completion(&to_b);
            complete(&to_a);
          }
        },
        on1);
    pid_t a = spawn(
        "ping",
        [&] {
          for (int i = 0; i < N; i++) {
            // Cold: let CPU 1 get past its haltpoll window and really sleep on its futex.
            if (cold) usleep(100);
            auto t0 = bench_clock::now();
            complete(&to_b);
            wait_for_completion(&to_a);
            total += ns_between(t0, bench_clock::now());
          }
        },
        on0);
    join(a, nullptr);
    join(b, nullptr);
    return total / (2.0 * N);
  });
}

long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t v) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op | FUTEX_PRIVATE_FLAG, v,
                 nullptr, nullptr, 0);
}

double futex_pingpong() {
  std::atomic<std::uint32_t> turn{0};  // 0: ping's move, 1: pong's move
  double total = 0;
  std::thread pong([&] {
    pin_self(1);
    for (int i = 0; i < N; i++) {
      while (turn.load() != 1) futex(&turn, FUTEX_WAIT, 0);
      turn.store(0);
      futex(&turn, FUTEX_WAKE, 1);
    }
  });
  std::thread ping([&] {
    pin_self(0);
    for (int i = 0; i < N; i++) {
      auto t0 = bench_clock::now();
      turn.store(1);
      futex(&turn, FUTEX_WAKE, 1);
      while (turn.load() != 0) futex(&turn, FUTEX_WAIT, 1);
      total += ns_between(t0, bench_clock::now());
    }
  });
  ping.join();
  pong.join();
  return total / (2.0 * N);
}

int run() {
  if (hw_cpus() < 2) {
    fmt::print("wakeup: needs two hardware CPUs\n");
    return 1;
  }
  double futex_ns = 0;
  std::vector<std::pair<std::string, double>> ours;
  for (idle_mode mode : {idle_mode::poll, idle_mode::halt}) {
    boot_params p;
    p.nr_cpus = 2;
    p.idle = mode;
    machine m(p);
    if (!m.ok()) return 1;
    const char* name = mode == idle_mode::poll ? "poll" : "halt";
    pair_result r = interleave(
        5, [] { return ours_pingpong(false); }, futex_pingpong);
    futex_ns = r.peer;
    ours.push_back({std::string("wakeup_") + name, r.ours});
    if (mode == idle_mode::halt) {
      pair_result c = interleave(
          5, [] { return ours_pingpong(true); }, futex_pingpong);
      ours.push_back({"wakeup_halt_cold", c.ours});
    }
  }
  section("wakeup: one-way wakeup of a task sleeping on the other CPU, ns");
  fmt::print(
      "idle=poll: the target polls its flags; idle=halt: it spins {} us, then futex-waits;\n"
      "halt_cold: a 100 us gap before each round makes the target really sleep.\n",
      20);
  for (auto& [metric, ns] : ours) report(metric, ns, "futex", futex_ns);
  return 0;
}

registrar reg("wakeup", "cross-CPU task wakeup (idle poll, halt) vs futex ping-pong", run);

}  // namespace

}  // namespace cpustop::bench
