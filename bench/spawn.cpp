// `cpustop bench spawn`: spawn 100k tasks and then join them all, against Boost.Fiber (pooled
// 16 KiB stacks, one thread), std::thread, and Go goroutines when `go` is installed.
// Nanoseconds per task.
#include <fmt/core.h>
#include <boost/fiber/all.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int N = 100000;

double ours_spawn() {
  task_attr attr;
  attr.stack_size = 16 * 1024;
  return in_task([attr] {
    std::vector<pid_t> pids(N);
    std::atomic<int> ran{0};
    auto t0 = bench_clock::now();
    for (auto& pid : pids)
      pid = spawn(
          "t", [&ran] { ran.fetch_add(1, std::memory_order_relaxed); }, attr);
    for (pid_t pid : pids) join(pid, nullptr);
    double ns = ns_between(t0, bench_clock::now()) / N;
    return ran.load() == N ? ns : -1.0;
  });
}

double boost_fiber_spawn() {
  std::vector<boost::fibers::fiber> fibers;
  fibers.reserve(N);
  int ran = 0;
  // One pool for every round, warm after the first, as cpustop's stack cache is.
  static boost::fibers::pooled_fixedsize_stack pool(16 * 1024);
  auto t0 = bench_clock::now();
  for (int i = 0; i < N; i++) fibers.emplace_back(std::allocator_arg, pool, [&ran] { ran++; });
  for (auto& f : fibers) f.join();
  double ns = ns_between(t0, bench_clock::now()) / N;
  return ran == N ? ns : -1.0;
}

double std_thread_spawn() {
  constexpr int T = 1000;
  std::vector<std::thread> threads;
  threads.reserve(T);
  auto t0 = bench_clock::now();
  for (int i = 0; i < T; i++) threads.emplace_back([] {});
  for (auto& t : threads) t.join();
  return ns_between(t0, bench_clock::now()) / T;
}

// Go 1.19: 100k goroutines and a WaitGroup, GOMAXPROCS=2 (the peer-baselines method).
double go_spawn() {
  if (std::system("command -v go >/dev/null 2>&1") != 0) return -1;
  std::string dir = "/tmp/cpustop-bench-go";
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/main.go") << R"(package main
import ("fmt"; "sync"; "time"; "sort")
func main() {
  var samples []float64
  for r := 0; r < 7; r++ {
    var wg sync.WaitGroup
    t0 := time.Now()
    for i := 0; i < 100000; i++ { wg.Add(1); go func() { wg.Done() }() }
    wg.Wait()
    samples = append(samples, float64(time.Since(t0).Nanoseconds())/100000.0)
  }
  sort.Float64s(samples)
  fmt.Printf("%.1f\n", samples[len(samples)/2])
}
)";
  std::string cmd = "cd " + dir + " && GOMAXPROCS=2 GOCACHE=" + dir +
                    "/cache GOFLAGS=-mod=mod go run main.go 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  double ns = -1;
  if (std::fscanf(f, "%lf", &ns) != 1) ns = -1;
  pclose(f);
  return ns;
}

int run() {
  double ours1 = 0, fiber = 0, ours2 = 0;
  {
    boot_params p;
    p.nr_cpus = 1;
    machine m(p);
    if (!m.ok()) return 1;
    ours_spawn();  // warm the stack pool, as Boost.Fiber's pool warms below
    boost_fiber_spawn();
    pair_result r = interleave(
        5, [] { return ours_spawn(); }, boost_fiber_spawn);
    ours1 = r.ours;
    fiber = r.peer;
  }
  double thread_ns = median({std_thread_spawn(), std_thread_spawn(), std_thread_spawn()});
  {
    boot_params p;
    p.nr_cpus = 2;
    machine m(p);
    if (!m.ok()) return 1;
    ours_spawn();
    ours2 = median({ours_spawn(), ours_spawn(), ours_spawn(), ours_spawn(), ours_spawn()});
  }
  double go = go_spawn();
  section("spawn: spawn 100k tasks then join them all, ns per task");
  fmt::print(
      "ours 1 CPU {:.1f}, ours 2 CPUs {:.1f}, Boost.Fiber 1 thread {:.1f}, std::thread {:.1f}{}\n",
      ours1, ours2, fiber, thread_ns,
      go > 0 ? fmt::format(", Go GOMAXPROCS=2 {:.1f}", go) : std::string(", Go not installed"));
  report("spawn", ours1, "boost_fiber", fiber);
  report("spawn", ours1, "std_thread", thread_ns);
  if (go > 0) report("spawn_2cpus", ours2, "go", go);
  return 0;
}

registrar reg("spawn", "spawn+join 100k tasks vs Boost.Fiber, std::thread and Go", run);

}  // namespace

}  // namespace cpustop::bench
