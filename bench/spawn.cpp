// `cpustop bench spawn`: spawn 100k tasks and then join them all. On 1 CPU against Boost.Fiber
// (pooled 16 KiB stacks, one thread), Go with GOMAXPROCS=1 and std::thread (1000 threads); on 2
// CPUs against Go with GOMAXPROCS=2. Go runs only where `go` is installed. Nanoseconds per task.
#include <fmt/core.h>
#include <boost/fiber/all.hpp>

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

// Go 1.19: 100k goroutines and a WaitGroup (the peer-baselines method). One warm-up pass, then
// one measured pass per run.
const char* GO_SPAWN = R"(package main
import ("fmt"; "sync"; "time")
func pass() float64 {
  var wg sync.WaitGroup
  t0 := time.Now()
  for i := 0; i < 100000; i++ { wg.Add(1); go func() { wg.Done() }() }
  wg.Wait()
  return float64(time.Since(t0).Nanoseconds()) / 100000.0
}
func main() { pass(); fmt.Printf("%.1f\n", pass()) }
)";

int run() {
  const std::string go = go_binary("spawn", GO_SPAWN);
  std::vector<spread> one, two;
  {
    boot_params p;
    p.nr_cpus = 1;
    machine m(p);
    if (!m.ok()) return 1;
    ours_spawn();  // warm the stack pool, as Boost.Fiber's pool warms below
    boost_fiber_spawn();
    one = compare("spawn_join_1cpu", ours_spawn,
                  {{"boost_fiber", boost_fiber_spawn},
                   {"go_gomaxprocs1", [&go] { return go_measure(go, "GOMAXPROCS=1"); }},
                   {"std_thread", std_thread_spawn}});
  }
  {
    // Our idle CPUs halt while Go runs, so each side has both hardware CPUs in its turn.
    boot_params p;
    p.nr_cpus = 2;
    machine m(p);
    if (!m.ok()) return 1;
    ours_spawn();
    two = compare("spawn_join_2cpus", ours_spawn,
                  {{"go_gomaxprocs2", [&go] { return go_measure(go, "GOMAXPROCS=2"); }}});
  }
  section("spawn: spawn 100k tasks then join them all, median ns per task");
  fmt::print("1 CPU: ours {:.1f}, Boost.Fiber {:.1f}, Go {}, std::thread {:.1f}\n", one[0].median(),
             one[1].median(),
             one[2].measured() ? fmt::format("{:.1f}", one[2].median()) : "(no go)",
             one[3].median());
  fmt::print("2 CPUs: ours {:.1f}, Go {}\n", two[0].median(),
             two[1].measured() ? fmt::format("{:.1f}", two[1].median()) : "(no go)");
  return 0;
}

registrar reg("spawn", "spawn+join 100k tasks vs Boost.Fiber, Go and std::thread", run);

}  // namespace

}  // namespace cpustop::bench
