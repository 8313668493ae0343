// `cpustop bench wakeup`: wake a task sleeping on the other CPU until it runs (a completion
// ping-pong between tasks on CPU 0 and CPU 1), against a futex ping-pong between two OS threads
// pinned to the two hardware CPUs. Both in nanoseconds per one-way wakeup: half a round trip.
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

double futex_one_way() {
  return futex_pingpong_roundtrip_ns(N) / 2;
}

// One round of ours on a machine booted for it, so that the peer's rounds run with no logical
// CPU up (with idle=poll, ours would otherwise take the host cores the peer needs).
double ours_on_machine(idle_mode idle, bool cold) {
  boot_params p;
  p.nr_cpus = 2;
  p.idle = idle;
  machine m(p);
  if (!m.ok()) return -1;
  return ours_pingpong(cold);
}

int run() {
  if (hw_cpus() < 2) {
    fmt::print("wakeup: needs two hardware CPUs\n");
    return 1;
  }
  std::vector<spread> poll =
      compare("wakeup_one_way_poll", [] { return ours_on_machine(idle_mode::poll, false); },
              {{"futex_one_way", futex_one_way}});
  std::vector<spread> halt =
      compare("wakeup_one_way_halt", [] { return ours_on_machine(idle_mode::halt, false); },
              {{"futex_one_way", futex_one_way}});
  std::vector<spread> cold =
      compare("wakeup_one_way_halt_cold", [] { return ours_on_machine(idle_mode::halt, true); },
              {{"futex_one_way", futex_one_way}});
  section("wakeup: one-way wakeup of a task sleeping on the other CPU, median ns");
  fmt::print(
      "idle=poll: the target polls its flags; idle=halt: it spins, then futex-waits;\n"
      "halt_cold: a 100 us gap before each round trip makes the target really sleep.\n"
      "poll {:.1f}  halt {:.1f}  halt_cold {:.1f}  (futex one way {:.1f})\n",
      poll[0].median(), halt[0].median(), cold[0].median(), halt[1].median());
  return 0;
}

registrar reg("wakeup", "cross-CPU task wakeup (idle poll, halt) vs futex ping-pong", run);

}  // namespace

}  // namespace cpustop::bench
