// `cpustop bench tracepoint`: the cost of a tracepoint call site, and of exporting a trace.
//   disabled: trace_cpu_stop_finish() with nobody listening (its USDT probe compiled in, out of
//             line) against a bare USDT probe (sys/sdt.h DTRACE_PROBE2, a nop and its
//             arguments), both in a cpustop task.
//   enabled:  the same call recording into the ring against the real kernel's tracepoint,
//             measured as the extra time getppid() takes with syscalls:sys_enter_getppid on
//             (needs root and tracefs; skipped otherwise).
//   trace.dat: ns per event of building the trace.dat of rings full of scheduler events,
//             against the real `trace-cmd report` reading that same file (skipped without it).
// Times are the CPU time of the measuring thread (of trace-cmd, for it), so that the other
// users of a shared host do not count.
#include <sys/resource.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>
#include <fstream>

#include "bench.h"
#include "bench_util.h"

namespace cpustop::bench {

namespace {

constexpr int N = 2000000;

int some_fn(void*) {
  return 0;
}

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double children_cpu_ns() {
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  auto ns = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_usec) * 1e3;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

double ours_tracepoint(bool enabled) {
  trace_event_enable("stop:cpu_stop_finish", enabled);
  double ns = in_task([] {
    double t0 = thread_cpu_ns();
    trace_cpu_stop_finish_loop(&some_fn, N);
    return (thread_cpu_ns() - t0) / N;
  });
  trace_event_enable("stop:cpu_stop_finish", false);
  trace_clear();
  return ns;
}

double usdt_disabled() {
  return in_task([] {
    double t0 = thread_cpu_ns();
    for (int i = 0; i < N; i++) {
      DTRACE_PROBE2(cpustop_bench, cpu_stop_finish, &some_fn, i);
      asm volatile("" ::: "memory");
    }
    return (thread_cpu_ns() - t0) / N;
  });
}

double getppid_ns() {
  constexpr int M = 200000;
  double t0 = thread_cpu_ns();
  for (int i = 0; i < M; i++) syscall(SYS_getppid);
  return (thread_cpu_ns() - t0) / M;
}

// tracefs's sys_enter_getppid/enable, mounting tracefs on first use when it is not mounted; ""
// when out of reach.
std::string tracefs_mount;
std::string kernel_enable_file() {
  static std::string enable = [] {
    std::string e = "/sys/kernel/tracing/events/syscalls/sys_enter_getppid/enable";
    if (access(e.c_str(), W_OK) == 0) return e;
    std::string dir = "/tmp/cpustop-tracefs";
    std::system(("mkdir -p " + dir).c_str());
    if (std::system(("mount -t tracefs nodev " + dir + " 2>/dev/null").c_str()) != 0)
      return std::string();
    tracefs_mount = dir;
    e = dir + "/events/syscalls/sys_enter_getppid/enable";
    return access(e.c_str(), W_OK) == 0 ? e : std::string();
  }();
  return enable;
}

// One round of the kernel's enabled-tracepoint cost (getppid with the event on, less getppid
// with it off), or -1 when tracefs is out of reach.
double kernel_tracepoint_enabled() {
  std::string enable = kernel_enable_file();
  if (enable.empty()) return -1;
  double off = getppid_ns();
  std::ofstream(enable) << "1";
  double on = getppid_ns();
  std::ofstream(enable) << "0";
  return std::max(on - off, 0.0);
}

// Rings full of scheduler events: two tasks on CPU 0 waking each other in turn (sched_waking,
// sched_wakeup and sched_switch per hand-over).
std::uint64_t fill_rings() {
  trace_clear();
  trace_event_enable("sched:*");
  task_attr a;
  a.cpus = cpumask::of(0);
  constexpr int rounds = 50000;
  completion ping, pong;
  init_completion(&ping);
  init_completion(&pong);
  pid_t x = spawn(
      "ping",
      [&] {
        for (int i = 0; i < rounds; i++) {
          complete(&ping);
          wait_for_completion(&pong);
        }
      },
      a);
  pid_t y = spawn(
      "pong",
      [&] {
        for (int i = 0; i < rounds; i++) {
          wait_for_completion(&ping);
          complete(&pong);
        }
      },
      a);
  join(x, nullptr);
  join(y, nullptr);
  trace_event_enable("all", false);
  std::uint64_t events = 0;
  for (const trace_cpu_stat& st : trace_stats()) events += st.entries;
  return events;
}

int run() {
  std::vector<spread> off, on, dat;
  {
    boot_params p;
    p.nr_cpus = 1;
    machine m(p);
    if (!m.ok()) return 1;
    off = compare("tracepoint_disabled", [] { return ours_tracepoint(false); },
                  {{"usdt", usdt_disabled}});
    on = compare("tracepoint_enabled", [] { return ours_tracepoint(true); },
                 {{"kernel_tracepoint", kernel_tracepoint_enabled}});
    if (!tracefs_mount.empty()) std::system(("umount " + tracefs_mount + " 2>/dev/null").c_str());
  }

  trace_set_buffer_size_kb(32 * 1024);
  boot_params p;
  p.nr_cpus = 1;
  machine m(p);
  trace_set_buffer_size_kb(1024);
  if (!m.ok()) return 1;
  auto events = static_cast<double>(fill_rings());
  std::string file = "/tmp/cpustop-bench-" + std::to_string(::getpid()) + ".dat";
  dat = compare("trace_dat_export_per_event",
                [&] {
                  double t0 = thread_cpu_ns();
                  std::string bytes = trace_export(trace_format::dat);
                  double ns = (thread_cpu_ns() - t0) / events;
                  std::ofstream(file, std::ios::binary)
                      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
                  return ns;
                },
                {{"trace_cmd_report", [&] {
                    double t0 = children_cpu_ns();
                    int st = std::system(("trace-cmd report " + file + " >/dev/null 2>&1").c_str());
                    return st == 0 ? (children_cpu_ns() - t0) / events : -1.0;
                  }}});
  std::remove(file.c_str());

  section("tracepoint: cost of one call site, ns (thread CPU time)");
  fmt::print("disabled {:.2f} (USDT probe {:.2f}); enabled {:.1f}{}\n", off[0].median(),
             off[1].median(), on[0].median(),
             on[1].measured() ? fmt::format(" (kernel tracepoint enabled {:.1f})", on[1].median())
                              : std::string(" (kernel tracepoint: tracefs not available)"));
  section("trace.dat export");
  fmt::print(
      "{:.0f} scheduler events written at {:.1f} M events/s{}\n", events, 1e3 / dat[0].median(),
      dat[1].measured()
          ? fmt::format("; trace-cmd report reads them at {:.2f} M events/s", 1e3 / dat[1].median())
          : std::string(" (trace-cmd not available)"));
  return 0;
}

registrar reg("tracepoint",
              "disabled and enabled tracepoint cost vs USDT and the kernel's; trace.dat export vs "
              "trace-cmd report",
              run);

}  // namespace

}  // namespace cpustop::bench
