// `cpustop bench tracepoint`: the cost of a tracepoint call site. Disabled: against a disabled
// USDT probe (sys/sdt.h, what perf and bpftrace attach to). Enabled: against the real kernel's
// tracepoint, measured as the extra time getppid() takes with syscalls:sys_enter_getppid on
// (needs root and tracefs; skipped otherwise).
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>
#include <fstream>

#include "bench.h"
#include "bench_util.h"
#include "trace/events.h"

namespace cpustop::bench {

namespace {

constexpr int N = 2000000;

int some_fn(void*) {
  return 0;
}

double ours_tracepoint(bool enabled) {
  trace_event_enable("stop:cpu_stop_finish", enabled);
  double ns = in_task([] {
    auto t0 = bench_clock::now();
    for (int i = 0; i < N; i++) {
      trace_cpu_stop_finish(&some_fn, i);
      asm volatile("" ::: "memory");
    }
    return ns_between(t0, bench_clock::now()) / N;
  });
  trace_event_enable("stop:cpu_stop_finish", false);
  trace_clear();
  return ns;
}

double usdt_disabled() {
  auto t0 = bench_clock::now();
  for (int i = 0; i < N; i++) {
    DTRACE_PROBE2(cpustop_bench, cpu_stop_finish, &some_fn, i);
    asm volatile("" ::: "memory");
  }
  return ns_between(t0, bench_clock::now()) / N;
}

double getppid_ns() {
  constexpr int M = 200000;
  auto t0 = bench_clock::now();
  for (int i = 0; i < M; i++) syscall(SYS_getppid);
  return ns_between(t0, bench_clock::now()) / M;
}

// One round of the kernel's enabled-tracepoint cost (getppid with the event on, less getppid
// with it off), or -1 when tracefs is out of reach.
double kernel_tracepoint_enabled() {
  std::string dir = "/sys/kernel/tracing";
  bool mounted = false;
  if (access((dir + "/events/syscalls/sys_enter_getppid/enable").c_str(), W_OK) != 0) {
    dir = "/tmp/cpustop-tracefs";
    std::system(("mkdir -p " + dir).c_str());
    if (std::system(("mount -t tracefs nodev " + dir + " 2>/dev/null").c_str()) != 0) return -1;
    mounted = true;
  }
  std::string enable = dir + "/events/syscalls/sys_enter_getppid/enable";
  double result = -1;
  if (access(enable.c_str(), W_OK) == 0) {
    double off = getppid_ns();
    std::ofstream(enable) << "1";
    double on = getppid_ns();
    std::ofstream(enable) << "0";
    result = std::max(on - off, 0.0);
  }
  if (mounted) std::system(("umount " + dir + " 2>/dev/null").c_str());
  return result;
}

int run() {
  boot_params p;
  p.nr_cpus = 1;
  machine m(p);
  if (!m.ok()) return 1;
  std::vector<spread> off = compare("tracepoint_disabled", [] { return ours_tracepoint(false); },
                                    {{"usdt", usdt_disabled}});
  std::vector<spread> on = compare("tracepoint_enabled", [] { return ours_tracepoint(true); },
                                   {{"kernel_tracepoint", kernel_tracepoint_enabled}});
  section("tracepoint: cost of one call site, ns");
  fmt::print("disabled {:.2f} (USDT probe {:.2f}); enabled {:.1f}{}\n", off[0].median(),
             off[1].median(), on[0].median(),
             on[1].measured() ? fmt::format(" (kernel tracepoint enabled {:.1f})", on[1].median())
                              : std::string(" (kernel tracepoint: tracefs not available)"));
  return 0;
}

registrar reg("tracepoint", "disabled and enabled tracepoint cost vs USDT and the kernel's", run);

}  // namespace

}  // namespace cpustop::bench
