// `cpustop bench switch`: sched_yield() between two tasks on one CPU, against Boost.Fiber's
// this_fiber::yield between two fibers, Go's runtime.Gosched between two goroutines
// (GOMAXPROCS=1) and a raw Boost.Context switch pair. Nanoseconds per one-way switch. Also
// measured as a side: the floor any kernel-style scheduler pays per switch (floor_model below).
#include <fmt/core.h>
#include <boost/context/detail/fcontext.hpp>
#include <boost/fiber/all.hpp>
#include <boost/intrusive/set.hpp>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int N = 200000;

// Timed over x's N yields, divided by the switches both tasks made meanwhile (their nvcsw +
// nivcsw): a CFS yield gives way only while the other task's vruntime is within the wakeup
// granularity of the yielder's (the skip buddy), so a pair that starts apart runs one side alone
// for up to a millisecond of yields that switch nothing. The pair first yields until it has
// alternated 1000 times; a yield that still switches nothing counts against us (its time is in
// the numerator only).
double ours_yield() {
  return in_task([] {
    std::atomic<int> started{0}, last{-1};
    std::atomic<long> alternations{0};
    std::atomic<pid_t> pids[2] = {0, 0};
    bench_clock::time_point t0, t1;
    std::uint64_t sw0 = 0, sw1 = 0;
    task_attr a;
    a.cpus = cpumask::of(0);
    auto switches = [&] {
      std::uint64_t n = 0;
      for (auto& pid : pids) {
        task_info ti;
        if (task_get_info(pid.load(), &ti) == 0) n += ti.nvcsw + ti.nivcsw;
      }
      return n;
    };
    auto body = [&](int id) {
      pids[id] = getpid();
      started++;
      while (started.load() < 2) sched_yield();
      while (alternations.load(std::memory_order_relaxed) < 1000) {
        sched_yield();
        if (last.load(std::memory_order_relaxed) != id) {
          last.store(id, std::memory_order_relaxed);
          alternations.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (id == 0) {
        sw0 = switches();
        t0 = bench_clock::now();
      }
      for (int i = 0; i < N; i++) sched_yield();
      if (id == 0) {
        t1 = bench_clock::now();
        sw1 = switches();
      }
    };
    pid_t x = spawn(
        "yield-a", [&] { body(0); }, a);
    pid_t y = spawn(
        "yield-b", [&] { body(1); }, a);
    join(x, nullptr);
    join(y, nullptr);
    return sw1 > sw0 ? ns_between(t0, t1) / static_cast<double>(sw1 - sw0) : -1.0;
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

// For reference, the floor of any kernel-style yield: per switch only the run-queue spinlock, one
// clock read, the vruntime update, the CFS tree's put_prev (insert) and pick (the leftmost that
// is not the yielder, erased), and jump_fcontext. All else the scheduler does per switch is left
// out.
namespace floor_model {

struct entity {
  boost::intrusive::set_member_hook<> node;
  std::uint64_t vruntime = 0;
  bctx::fcontext_t ctx = nullptr;
};
struct by_vruntime {
  bool operator()(const entity& a, const entity& b) const {
    return static_cast<std::int64_t>(a.vruntime - b.vruntime) < 0;
  }
};
using timeline = boost::intrusive::multiset<
    entity,
    boost::intrusive::member_hook<entity, boost::intrusive::set_member_hook<>, &entity::node>,
    boost::intrusive::compare<by_vruntime>>;

struct runqueue {
  std::atomic<int> lock{0};
  std::uint64_t clock = 0;
  entity* curr = nullptr;
  timeline tree;
} rq;

inline std::uint64_t read_clock() {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<std::uint64_t>(bench_clock::now().time_since_epoch().count());
#endif
}

void yield() {
  while (rq.lock.exchange(1, std::memory_order_acquire)) {
  }
  std::uint64_t now = read_clock();
  entity* prev = rq.curr;
  prev->vruntime += now - rq.clock;
  rq.clock = now;
  rq.tree.insert(*prev);
  auto it = rq.tree.begin();
  if (&*it == prev) ++it;  // a yield skips the task that asked, as the kernel's skip buddy does
  entity* next = &*it;
  rq.tree.erase(rq.tree.iterator_to(*next));
  rq.curr = next;
  rq.lock.store(0, std::memory_order_release);
  bctx::transfer_t t = bctx::jump_fcontext(next->ctx, prev);
  static_cast<entity*>(t.data)->ctx = t.fctx;  // whoever switched to us saves its context
}

void other_side(bctx::transfer_t t) {
  static_cast<entity*>(t.data)->ctx = t.fctx;
  for (;;) yield();
}

double measure() {
  std::vector<char> stack(64 * 1024);
  entity main_side, other;
  other.ctx = bctx::make_fcontext(stack.data() + stack.size(), stack.size(), other_side);
  other.vruntime = 1;
  rq.tree.insert(other);
  rq.curr = &main_side;
  rq.clock = read_clock();
  auto t0 = bench_clock::now();
  for (int i = 0; i < N; i++) yield();
  double ns = ns_between(t0, bench_clock::now()) / (2.0 * N);
  rq.tree.clear();  // the other side's stack is dropped while it is suspended
  return ns;
}

}  // namespace floor_model

// Two goroutines yielding to each other on one P, timed like ours: the first one's N yields span
// the 2N switches. One warm-up pass, then one measured pass per run.
const char* GOSCHED = R"(package main
import ("fmt"; "runtime"; "time")
const N = 200000
func pass() float64 {
  var t0, t1 time.Time
  start, done := make(chan bool), make(chan bool)
  go func() { <-start; t0 = time.Now(); for i := 0; i < N; i++ { runtime.Gosched() }; t1 = time.Now(); done <- true }()
  go func() { <-start; for i := 0; i < N; i++ { runtime.Gosched() }; done <- true }()
  close(start)
  <-done; <-done
  return float64(t1.Sub(t0).Nanoseconds()) / (2.0 * N)
}
func main() { pass(); fmt.Printf("%.2f\n", pass()) }
)";

double go_gosched() {
  return go_measure(go_binary("gosched", GOSCHED), "GOMAXPROCS=1");
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
  go_binary("gosched", GOSCHED);  // built before the rounds
  std::vector<spread> r = compare("switch", ours_yield,
                                  {{"boost_fiber", boost_fiber_yield},
                                   {"go_gosched", go_gosched},
                                   {"boost_context", raw_context_switch},
                                   {"kernel_style_floor", floor_model::measure}});
  section("switch: one-way switch between two runnable tasks on one CPU, median ns");
  fmt::print(
      "ours (sched_yield, fair class) {:.1f}  Boost.Fiber yield {:.1f}  Go Gosched {}  raw "
      "jump_fcontext {:.1f}\n",
      r[0].median(), r[1].median(),
      r[2].measured() ? fmt::format("{:.1f}", r[2].median()) : std::string("(no go)"),
      r[3].median());
  fmt::print(
      "kernel_style_floor: rq lock, clock read, CFS tree put/pick, jump_fcontext; nothing else "
      "{:.1f}\n",
      r[4].median());
  return 0;
}

registrar reg("switch", "sched_yield between two tasks vs Boost.Fiber, Go Gosched, Boost.Context",
              run);

}  // namespace

}  // namespace cpustop::bench
