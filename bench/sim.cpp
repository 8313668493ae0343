// `cpustop bench sim` (sim build only): what the simulator costs in host time, and how the
// stopper's cost grows with the number of CPUs in virtual time.
//
// Host time is the simulator thread's CPU time (the host is shared).
// sim_point: host ns per scheduling point while 64 virtual CPUs run stop_machine back to back,
// against the floor of any fiber-switching simulator: one Boost.Context jump between two fibers.
// sim_stop_machine_N: host ns to boot N virtual CPUs, run one stop_machine and shut down,
// against the virtual ns that the stop_machine took on the simulated machine (ratio: slowdown).
// Then the cost curve: stop_machine and stop_one_cpu on 1..NR_CPUS CPUs, in virtual ns, in
// scheduling points and in shared cache lines moved between CPUs (the cost model's count).
#if defined(CPUSTOP_ARCH_SIM)

#include <fmt/core.h>

#include <time.h>
#include <boost/context/detail/fcontext.hpp>

#include <cstdlib>

#include "bench.h"
#include "bench_util.h"
#include "cpustop/sim.h"

namespace cpustop::bench {

namespace {

namespace bctx = boost::context::detail;

int noop(void*) {
  return 0;
}

// The simulator is one OS thread: its CPU time is its host cost, whatever else the host runs
// (the machine is shared; wall time would charge us for the neighbours).
double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

boot_params sim_boot(unsigned cpus) {
  sim::config c;
  c.cpus = cpus;
  c.seed = 1;
  c.stall_ppm = 0;  // a clean curve: no vCPU stalls
  if (sim::configure(c)) std::abort();
  boot_params p;
  p.nr_cpus = cpus;
  p.pin = false;
  return p;
}

// Host ns per scheduling point over `rounds` stop_machine calls on 64 CPUs (boot excluded).
double ours_point(int rounds) {
  machine m(sim_boot(64));
  if (!m.ok()) return 0;
  sim::stats s0 = sim::current_stats();
  double t0 = thread_cpu_ns();
  for (int i = 0; i < rounds; i++) stop_machine(noop, nullptr, nullptr);
  double ns = thread_cpu_ns() - t0;
  sim::stats s1 = sim::current_stats();
  return ns / static_cast<double>(std::max<std::uint64_t>(1, s1.points - s0.points));
}

void peer_fiber(bctx::transfer_t t) {
  for (;;) t = bctx::jump_fcontext(t.fctx, nullptr);
}

double peer_switch() {
  constexpr int N = 2'000'000;
  static char stack[64 * 1024];
  bctx::fcontext_t f = bctx::make_fcontext(stack + sizeof(stack), sizeof(stack), peer_fiber);
  double t0 = thread_cpu_ns();
  for (int i = 0; i < N; i++) f = bctx::jump_fcontext(f, nullptr).fctx;
  return (thread_cpu_ns() - t0) / (2.0 * N);
}

// One boot of `cpus` CPUs running `calls` stop calls from the host: per call, its virtual ns,
// scheduling points and line transfers; and the host ns of the whole boot..shutdown.
struct measured {
  double host_ns = 0;
  spread virtual_ns, points, transfers;
};

measured boot_stop_shutdown(unsigned cpus, bool machine_wide, int calls) {
  measured r;
  double t0 = thread_cpu_ns();
  boot_params p = sim_boot(cpus);
  if (boot(p)) return r;
  for (int i = 0; i < calls; i++) {
    sim::stats s0 = sim::current_stats();
    std::uint64_t v0 = sim::local_time();
    if (machine_wide)
      stop_machine(noop, nullptr, nullptr);
    else
      stop_one_cpu(cpus - 1, noop, nullptr);
    sim::stats s1 = sim::current_stats();
    r.virtual_ns.samples.push_back(static_cast<double>(sim::local_time() - v0));
    r.points.samples.push_back(static_cast<double>(s1.points - s0.points));
    r.transfers.samples.push_back(static_cast<double>(s1.line_transfers - s0.line_transfers));
  }
  shutdown();
  r.host_ns = thread_cpu_ns() - t0;
  return r;
}

int run_sim() {
  section("host cost of a scheduling point (64 CPUs, stop_machine back to back)");
  std::vector<spread> pt =
      compare("sim_point", [] { return ours_point(20); }, {{"jump_fcontext", peer_switch}});
  fmt::print("scheduling points per host second: {:.2f} M\n", 1e3 / pt[0].median());

  unsigned big = std::min(1024u, NR_CPUS);
  section(fmt::format("boot + stop_machine + shutdown on {} virtual CPUs", big));
  spread host, virt;
  for (int i = 0; i < MIN_ROUNDS; i++) {
    measured m = boot_stop_shutdown(big, true, 1);
    host.samples.push_back(m.host_ns);
    virt.samples.push_back(m.virtual_ns.median());
  }
  fmt::print("host seconds per {}-CPU boot + stop_machine + shutdown: {:.2f}\n", big,
             host.median() / 1e9);
  report(fmt::format("sim_stop_machine_{}", big), host, "virtual", virt);

  section("cost curve (virtual time per call, median of 5 calls)");
  fmt::print("{:>6} {:>16} {:>10} {:>10} {:>14} {:>8} {:>10}\n", "cpus", "stop_machine_ns",
             "points", "transfers", "stop_one_ns", "points", "transfers");
  for (unsigned n = 1; n <= NR_CPUS; n *= 2) {
    measured sm = boot_stop_shutdown(n, true, MIN_ROUNDS);
    measured so = boot_stop_shutdown(n, false, MIN_ROUNDS);
    fmt::print("{:>6} {:>16.0f} {:>10.0f} {:>10.0f} {:>14.0f} {:>8.0f} {:>10.0f}\n", n,
               sm.virtual_ns.median(), sm.points.median(), sm.transfers.median(),
               so.virtual_ns.median(), so.points.median(), so.transfers.median());
    report_scaling("stop_machine_virtual", "sim", n, sm.virtual_ns);
    report_scaling("stop_one_cpu_virtual", "sim", n, so.virtual_ns);
    std::fflush(stdout);
  }
  return 0;
}

registrar reg("sim", "the simulator: host ns per scheduling point, 1024-CPU stop_machine, curve",
              run_sim);

}  // namespace

}  // namespace cpustop::bench

#endif  // CPUSTOP_ARCH_SIM
