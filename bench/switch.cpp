// `cpustop bench switch`: sched_yield() between two tasks on one CPU, against a raw Boost.Context
// switch pair and Boost.Fiber's this_fiber::yield between two fibers. Nanoseconds per switch.
#include <fmt/core.h>
#include <boost/context/detail/fcontext.hpp>
#include <boost/fiber/all.hpp>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int N = 200000;

double ours_yield() {
  return in_task([] {
    std::atomic<int> started{0};
    bench_clock::time_point t0, t1;
    task_attr a;
    a.cpus = cpumask::of(0);
    auto body = [&](bool first) {
      started++;
      while (started.load() < 2) sched_yield();
      if (first) t0 = bench_clock::now();
      for (int i = 0; i < N; i++) sched_yield();
      if (first) t1 = bench_clock::now();
    };
    pid_t x = spawn(
        "yield-a", [&] { body(true); }, a);
    pid_t y = spawn(
        "yield-b", [&] { body(false); }, a);
    join(x, nullptr);
    join(y, nullptr);
    // x's N yields span the 2N switches of both tasks.
    return ns_between(t0, t1) / (2.0 * N);
  });
}

namespace bctx = boost::context::detail;
void ping(bctx::transfer_t t) {
  for (;;) t = bctx::jump_fcontext(t.fctx, nullptr);
}

double raw_context_switch() {
  std::vector<char> stack(64 * 1024);
  bctx::fcontext_t f = bctx::make_fcontext(stack.data() + stack.size(), stack.size(), ping);
  f = bctx::jump_fcontext(f, nullptr).fctx;
  auto t0 = bench_clock::now();
  for (int i = 0; i < N; i++) f = bctx::jump_fcontext(f, nullptr).fctx;
  return ns_between(t0, bench_clock::now()) / (2.0 * N);
}

double boost_fiber_yield() {
  bench_clock::time_point t0, t1;
  boost::fibers::fiber a([&] {
    t0 = bench_clock::now();
    for (int i = 0; i < N; i++) boost::this_fiber::yield();
    t1 = bench_clock::now();
  });
  boost::fibers::fiber b([] {
    for (int i = 0; i < N; i++) boost::this_fiber::yield();
  });
  a.join();
  b.join();
  return ns_between(t0, t1) / (2.0 * N);
}

int run() {
  boot_params p;
  p.nr_cpus = 1;
  machine m(p);
  if (!m.ok()) return 1;
  section("switch: one-way switch between two runnable tasks on one CPU, ns");
  pair_result fiber = interleave(5, ours_yield, boost_fiber_yield);
  pair_result raw = interleave(5, ours_yield, raw_context_switch);
  fmt::print(
      "ours (sched_yield, fair class) {:.1f}  Boost.Fiber yield {:.1f}  raw jump_fcontext {:.1f}\n",
      fiber.ours, fiber.peer, raw.peer);
  report("switch", fiber.ours, "boost_fiber", fiber.peer);
  report("switch", raw.ours, "boost_context", raw.peer);
  return 0;
}

registrar reg("switch", "sched_yield between two tasks vs Boost.Context and Boost.Fiber", run);

}  // namespace

}  // namespace cpustop::bench
