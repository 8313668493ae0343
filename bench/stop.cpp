// `cpustop bench stop_one_cpu` and `cpustop bench stop_machine`.
//
// stop_one_cpu: the round trip of stop_one_cpu(1, noop) from a task on CPU 0, against the
// physical limit of a cross-CPU request (a cache-line ping-pong between two pinned threads) with
// idle=poll, and against a futex ping-pong with idle=halt.
//
// stop_machine: stop_machine(noop) over every CPU while a busy task runs on each, against
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) with a sibling thread spinning on the other CPU,
// and against Go's GC stop-the-world pause when `go` is installed.
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

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

double cacheline_pingpong() {
  constexpr int N = 200000;
  alignas(64) std::atomic<std::uint64_t> counter{0};
  std::thread other([&] {
    pin_self(1);
    for (std::uint64_t v = 1; v < 2 * N; v += 2) {
      while (counter.load(std::memory_order_acquire) != v) {
      }
      counter.store(v + 1, std::memory_order_release);
    }
  });
  pin_self(0);
  auto t0 = bench_clock::now();
  for (std::uint64_t v = 0; v < 2 * N; v += 2) {
    counter.store(v + 1, std::memory_order_release);
    while (counter.load(std::memory_order_acquire) != v + 2) {
    }
  }
  double ns = ns_between(t0, bench_clock::now()) / N;
  other.join();
  return ns;
}

long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t v) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op | FUTEX_PRIVATE_FLAG, v,
                 nullptr, nullptr, 0);
}

double futex_roundtrip() {
  constexpr int N = 2000;
  std::atomic<std::uint32_t> turn{0};
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
  return total / N;
}

int run_stop_one_cpu() {
  if (hw_cpus() < 2) {
    fmt::print("stop_one_cpu: needs two hardware CPUs\n");
    return 1;
  }
  pair_result poll, halt, cold;
  {
    boot_params p;
    p.nr_cpus = 2;
    p.idle = idle_mode::poll;
    machine m(p);
    if (!m.ok()) return 1;
    ours_stop_one_cpu(2000, false);
    poll = interleave(
        5, [] { return ours_stop_one_cpu(20000, false); }, cacheline_pingpong);
  }
  {
    boot_params p;
    p.nr_cpus = 2;
    machine m(p);
    if (!m.ok()) return 1;
    halt = interleave(
        5, [] { return ours_stop_one_cpu(2000, false); }, futex_roundtrip);
    cold = interleave(
        5, [] { return ours_stop_one_cpu(2000, true); }, futex_roundtrip);
  }
  section("stop_one_cpu: round trip of stop_one_cpu(1, noop) from a task on CPU 0, ns");
  fmt::print(
      "idle=poll {:.1f} (cache-line ping-pong {:.1f}); idle=halt {:.1f}, halted target {:.1f} "
      "(futex ping-pong {:.1f})\n",
      poll.ours, poll.peer, halt.ours, cold.ours, halt.peer);
  report("stop_one_cpu_poll", poll.ours, "cacheline", poll.peer);
  report("stop_one_cpu_halt", halt.ours, "futex", halt.peer);
  report("stop_one_cpu_halt_cold", cold.ours, "futex", cold.peer);
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

double go_gc_pause() {
  if (std::system("command -v go >/dev/null 2>&1") != 0) return -1;
  std::string dir = "/tmp/cpustop-bench-go-gc";
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/main.go") << R"(package main
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
  std::string cmd =
      "cd " + dir + " && GOMAXPROCS=2 GOCACHE=" + dir + "/cache go run main.go 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  double ns = -1;
  if (std::fscanf(f, "%lf", &ns) != 1) ns = -1;
  pclose(f);
  return ns;
}

int run_stop_machine() {
  unsigned n = std::min(hw_cpus(), 2u);
  boot_params p;
  p.nr_cpus = n;
  machine m(p);
  if (!m.ok()) return 1;
  ours_stop_machine(n, 200);
  pair_result r = interleave(
      5, [n] { return ours_stop_machine(n, 500); }, membarrier_expedited);
  double go = go_gc_pause();
  section(
      fmt::format("stop_machine: stop_machine(noop) over {} CPUs, each running a busy task, "
                  "median ns",
                  n));
  fmt::print(
      "ours {:.1f}, membarrier(PRIVATE_EXPEDITED) {:.1f}{}\n", r.ours, r.peer,
      go > 0 ? fmt::format(", Go GC stop-the-world pause {:.1f}", go) : ", Go not installed");
  report("stop_machine", r.ours, "membarrier", r.peer);
  if (go > 0) report("stop_machine", r.ours, "go_gc_stw", go);
  return 0;
}

registrar reg1("stop_one_cpu", "stop_one_cpu round trip vs cache-line and futex ping-pong",
               run_stop_one_cpu);
registrar reg2("stop_machine", "stop_machine over all CPUs vs membarrier and Go's GC pause",
               run_stop_machine);

}  // namespace

}  // namespace cpustop::bench
