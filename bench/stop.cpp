// `cpustop bench stop_one_cpu` and `cpustop bench stop_machine`.
//
// stop_one_cpu: the round trip of stop_one_cpu(1, noop) from a task on CPU 0, against the
// physical limit of a cross-CPU request (the round trip of a cache-line ping-pong between two
// pinned threads, measured with no logical CPU up) with idle=poll, and against the round trip of
// a futex ping-pong with idle=halt.
//
// stop_machine: stop_machine(noop) over every CPU while a busy task runs on each, against
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) with a sibling thread spinning on the other CPU,
// and against Go's GC stop-the-world pause when `go` is installed.
//
// stop_scaling: stop_machine(noop) and stop_one_cpu(last CPU, noop) from CPU 0 on 1, 2, 4 and 8
// logical CPUs (idle=halt, no other load), SCALE lines with source=native. More logical CPUs
// than hardware CPUs share them, so past hw_cpus() the curve shows the host's scheduling too.
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

int noop(void*) {
  return 0;
}

double ours_stop_one_cpu(int n, bool cold) {
  task_attr on0;
  on0.cpus = cpumask::of(0);
  return in_task(
      [n, cold] {
        double total = 0;
        for (int i = 0; i < n; i++) {
          if (cold) usleep(100);
          auto t0 = bench_clock::now();
          stop_one_cpu(1, noop, nullptr);
          total += ns_between(t0, bench_clock::now());
        }
        return total / n;
      },
      on0);
}

// Round trip of one cache line between two threads pinned to the first two hardware CPUs.
double cacheline_pingpong() {
  constexpr int N = 200000;
  alignas(64) std::atomic<std::uint64_t> counter{0};
  double ns = 0;
  std::thread pong([&] {
    pin_self(1);
    for (std::uint64_t v = 1; v < 2 * N; v += 2) {
      while (counter.load(std::memory_order_acquire) != v) {
      }
      counter.store(v + 1, std::memory_order_release);
    }
  });
  std::thread ping([&] {
    pin_self(0);
    auto t0 = bench_clock::now();
    for (std::uint64_t v = 0; v < 2 * N; v += 2) {
      counter.store(v + 1, std::memory_order_release);
      while (counter.load(std::memory_order_acquire) != v + 2) {
      }
    }
    ns = ns_between(t0, bench_clock::now()) / N;
  });
  ping.join();
  pong.join();
  return ns;
}

// One round of ours with idle=poll on a machine booted for it: the peer's round then runs with
// no logical CPU polling the host cores it needs.
double ours_stop_one_cpu_poll() {
  boot_params p;
  p.nr_cpus = 2;
  p.idle = idle_mode::poll;
  machine m(p);
  if (!m.ok()) return -1;
  ours_stop_one_cpu(2000, false);
  return ours_stop_one_cpu(20000, false);
}

int run_stop_one_cpu() {
  if (hw_cpus() < 2) {
    fmt::print("stop_one_cpu: needs two hardware CPUs\n");
    return 1;
  }
  auto futex = [] { return futex_pingpong_roundtrip_ns(2000); };
  std::vector<spread> poll = compare("stop_one_cpu_poll", ours_stop_one_cpu_poll,
                                     {{"cacheline_roundtrip", cacheline_pingpong}});
  std::vector<spread> halt, cold;
  {
    boot_params p;
    p.nr_cpus = 2;
    machine m(p);
    if (!m.ok()) return 1;
    // The peer runs while our CPUs are halted on their futexes.
    halt = compare("stop_one_cpu_halt", [] { return ours_stop_one_cpu(2000, false); },
                   {{"futex_roundtrip", futex}});
    cold = compare("stop_one_cpu_halt_cold", [] { return ours_stop_one_cpu(2000, true); },
                   {{"futex_roundtrip", futex}});
  }
  section("stop_one_cpu: round trip of stop_one_cpu(1, noop) from a task on CPU 0, median ns");
  fmt::print(
      "idle=poll {:.1f} (cache-line round trip {:.1f}); idle=halt {:.1f}, halted target {:.1f} "
      "(futex round trip {:.1f})\n",
      poll[0].median(), poll[1].median(), halt[0].median(), cold[0].median(), halt[1].median());
  return 0;
}

// ---- stop_machine ----------------------------------------------------------------------------

double ours_stop_machine(unsigned ncpus, int n) {
  std::atomic<bool> done{false};
  std::vector<pid_t> busy;
  for (unsigned c = 0; c < ncpus; c++) {
    task_attr a;
    a.cpus = cpumask::of(c);
    busy.push_back(spawn(
        "busy",
        [&] {
          while (!done.load(std::memory_order_relaxed)) cond_resched();
        },
        a));
  }
  double ns = in_task([n] {
    std::vector<double> samples;
    for (int i = 0; i < n; i++) {
      auto t0 = bench_clock::now();
      stop_machine(noop, nullptr, nullptr);
      samples.push_back(ns_between(t0, bench_clock::now()));
    }
    return median(samples);
  });
  done = true;
  for (pid_t pid : busy) join(pid, nullptr);
  return ns;
}

double membarrier_expedited() {
  syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
  std::atomic<bool> stop{false};
  std::thread sibling([&] {
    pin_self(1);
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  pin_self(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::vector<double> samples;
  for (int i = 0; i < 2000; i++) {
    auto t0 = bench_clock::now();
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    samples.push_back(ns_between(t0, bench_clock::now()));
  }
  stop = true;
  sibling.join();
  return median(samples);
}

// Go's stop-the-world: the median GC pause (MemStats.PauseNs) of 200 forced GCs while a
// goroutine spins, GOMAXPROCS=2.
const char* GO_GC = R"(package main
import ("fmt"; "runtime"; "sort")
var sink [][]byte
func main() {
  for i := 0; i < 1000; i++ { sink = append(sink, make([]byte, 1024)) }
  go func() { x := 0; for { x++ } }()
  var ms runtime.MemStats
  var pauses []float64
  for i := 0; i < 200; i++ {
    runtime.GC()
    runtime.ReadMemStats(&ms)
    pauses = append(pauses, float64(ms.PauseNs[(ms.NumGC+255)%256]))
  }
  sort.Float64s(pauses)
  fmt.Printf("%.1f\n", pauses[len(pauses)/2])
}
)";

int run_stop_machine() {
  unsigned n = std::min(hw_cpus(), 2u);
  const std::string go = go_binary("gc_stw", GO_GC);
  boot_params p;
  p.nr_cpus = n;
  machine m(p);
  if (!m.ok()) return 1;
  ours_stop_machine(n, 200);
  std::vector<spread> r =
      compare("stop_machine", [n] { return ours_stop_machine(n, 500); },
              {{"membarrier", membarrier_expedited},
               {"go_gc_stw", [&go] { return go_measure(go, "GOMAXPROCS=2"); }}});
  section(fmt::format(
      "stop_machine: stop_machine(noop) over {} CPUs, each running a busy task, median ns", n));
  fmt::print("ours {:.1f}, membarrier(PRIVATE_EXPEDITED) {:.1f}, Go GC stop-the-world pause {}\n",
             r[0].median(), r[1].median(),
             r[2].measured() ? fmt::format("{:.1f}", r[2].median()) : "(no go)");
  return 0;
}

// ---- scaling ---------------------------------------------------------------------------------

// The median cost of `call` on a machine of `cpus` logical CPUs booted for this round, from a
// task on CPU 0.
double on_machine(unsigned cpus, int (*call)(unsigned)) {
  boot_params p;
  p.nr_cpus = cpus;
  machine m(p);
  if (!m.ok()) return -1;
  task_attr on0;
  on0.cpus = cpumask::of(0);
  return in_task(
      [cpus, call] {
        for (int i = 0; i < 50; i++) call(cpus);
        std::vector<double> samples;
        for (int i = 0; i < 200; i++) {
          auto t0 = bench_clock::now();
          if (call(cpus) != 0) return -1.0;
          samples.push_back(ns_between(t0, bench_clock::now()));
        }
        return median(samples);
      },
      on0);
}

int call_stop_machine(unsigned) {
  return stop_machine(noop, nullptr, nullptr);
}
int call_stop_one_cpu(unsigned cpus) {
  return stop_one_cpu(cpus - 1, noop, nullptr);
}

int run_stop_scaling() {
  const std::vector<unsigned> counts{1, 2, 4, 8};
  using call_fn = int (*)(unsigned);
  for (auto [metric, call] : {std::pair<const char*, call_fn>{"stop_machine", call_stop_machine},
                              std::pair<const char*, call_fn>{"stop_one_cpu", call_stop_one_cpu}}) {
    std::vector<side> sides;
    for (unsigned n : counts)
      sides.push_back({fmt::format("{}cpus", n), [n, call = call] { return on_machine(n, call); }});
    std::vector<spread> r = alternate(sides);
    for (size_t i = 0; i < counts.size(); i++) report_scaling(metric, "native", counts[i], r[i]);
    section(fmt::format("{} on 1, 2, 4, 8 logical CPUs ({} hardware), idle=halt, median ns", metric,
                        hw_cpus()));
    for (size_t i = 0; i < counts.size(); i++)
      fmt::print("{} CPUs: {:.1f}\n", counts[i], r[i].median());
  }
  return 0;
}

registrar reg1("stop_one_cpu", "stop_one_cpu round trip vs cache-line and futex ping-pong",
               run_stop_one_cpu);
registrar reg2("stop_machine", "stop_machine over all CPUs vs membarrier and Go's GC pause",
               run_stop_machine);
registrar reg3("stop_scaling", "stop_machine and stop_one_cpu cost against logical CPU count",
               run_stop_scaling);

}  // namespace

}  // namespace cpustop::bench
