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
#include "trace/events.h"

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

struct samples {
  std::vector<double> ours, peer;
};

// BENCH with the spread of both sides.
void report_samples(const std::string& metric, const std::string& peer, const samples& s) {
  auto [omin, omax] = std::minmax_element(s.ours.begin(), s.ours.end());
  auto [pmin, pmax] = std::minmax_element(s.peer.begin(), s.peer.end());
  double o = median(s.ours), p = median(s.peer);
  fmt::print(
      "BENCH {} ours_ns={:.2f} {}_ns={:.2f} ratio={:.3f} ours_min_ns={:.2f} ours_max_ns={:.2f} "
      "{}_min_ns={:.2f} {}_max_ns={:.2f} rounds={}\n",
      metric, o, peer, p, p > 0 ? o / p : 0.0, *omin, *omax, peer, *pmin, peer, *pmax,
      s.ours.size());
}

double ours_tracepoint() {
  double t0 = thread_cpu_ns();
  for (int i = 0; i < N; i++) {
    trace_cpu_stop_finish(&some_fn, i);
    asm volatile("" ::: "memory");
  }
  return (thread_cpu_ns() - t0) / N;
}

double usdt_probe() {
  double t0 = thread_cpu_ns();
  for (int i = 0; i < N; i++) {
    DTRACE_PROBE2(cpustop_bench, cpu_stop_finish, &some_fn, i);
    asm volatile("" ::: "memory");
  }
  return (thread_cpu_ns() - t0) / N;
}

double getppid_ns() {
  constexpr int M = 200000;
  double t0 = thread_cpu_ns();
  for (int i = 0; i < M; i++) syscall(SYS_getppid);
  return (thread_cpu_ns() - t0) / M;
}

// tracefs's events/syscalls/sys_enter_getppid/enable, mounting tracefs if it is not; "" when out
// of reach. unmount: set when this mounted it.
std::string kernel_tracepoint_enable(bool* unmount) {
  *unmount = false;
  std::string enable = "/sys/kernel/tracing/events/syscalls/sys_enter_getppid/enable";
  if (access(enable.c_str(), W_OK) == 0) return enable;
  std::string dir = "/tmp/cpustop-tracefs";
  std::system(("mkdir -p " + dir).c_str());
  if (std::system(("mount -t tracefs nodev " + dir + " 2>/dev/null").c_str()) != 0) return "";
  *unmount = true;
  enable = dir + "/events/syscalls/sys_enter_getppid/enable";
  return access(enable.c_str(), W_OK) == 0 ? enable : "";
}

// Enabled: ours recording, and the kernel's tracepoint as getppid's extra time, alternating.
samples enabled_rounds(const std::string& enable) {
  samples s;
  for (int r = 0; r < 5; r++) {
    trace_event_enable("stop:cpu_stop_finish");
    s.ours.push_back(in_task(ours_tracepoint));
    trace_event_enable("stop:cpu_stop_finish", false);
    trace_clear();
    double off = getppid_ns();
    std::ofstream(enable) << "1";
    double on = getppid_ns();
    std::ofstream(enable) << "0";
    s.peer.push_back(on - off);
  }
  return s;
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
  section("tracepoint: cost of one call site, ns");
  samples off;
  {
    boot_params p;
    p.nr_cpus = 1;
    machine m(p);
    if (!m.ok()) return 1;
    for (int r = 0; r < 5; r++) {
      off.ours.push_back(in_task(ours_tracepoint));
      off.peer.push_back(in_task(usdt_probe));
    }
    fmt::print("disabled {:.2f} (USDT probe {:.2f})\n", median(off.ours), median(off.peer));
    report_samples("tracepoint_disabled", "usdt", off);

    bool unmount;
    std::string enable = kernel_tracepoint_enable(&unmount);
    if (enable.empty()) {
      fmt::print("enabled: kernel tracepoint not reachable (tracefs)\n");
    } else {
      samples on = enabled_rounds(enable);
      fmt::print("enabled {:.1f} (kernel tracepoint enabled {:.1f})\n", median(on.ours),
                 median(on.peer));
      report_samples("tracepoint_enabled", "kernel_tracepoint", on);
    }
    if (unmount) std::system("umount /tmp/cpustop-tracefs 2>/dev/null");
  }

  section("trace.dat export: ns per event");
  trace_set_buffer_size_kb(32 * 1024);
  boot_params p;
  p.nr_cpus = 1;
  machine m(p);
  trace_set_buffer_size_kb(1024);
  if (!m.ok()) return 1;
  std::uint64_t events = fill_rings();
  std::string file = "/tmp/cpustop-bench-" + std::to_string(::getpid()) + ".dat";
  samples dat;
  bool have_trace_cmd = std::system("trace-cmd -h >/dev/null 2>&1") != 127 * 256;
  for (int r = 0; r < 5; r++) {
    double t0 = thread_cpu_ns();
    std::string bytes = trace_export(trace_format::dat);
    dat.ours.push_back((thread_cpu_ns() - t0) / static_cast<double>(events));
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!have_trace_cmd) continue;
    t0 = children_cpu_ns();
    int st = std::system(("trace-cmd report " + file + " >/dev/null 2>&1").c_str());
    if (st != 0) have_trace_cmd = false;
    dat.peer.push_back((children_cpu_ns() - t0) / static_cast<double>(events));
  }
  std::remove(file.c_str());
  fmt::print("{} scheduler events: written at {:.1f} M events/s", events, 1e3 / median(dat.ours));
  if (!have_trace_cmd || dat.peer.empty()) {
    fmt::print(" (trace-cmd not available)\n");
    return 0;
  }
  fmt::print(", trace-cmd report reads them at {:.2f} M events/s\n", 1e3 / median(dat.peer));
  report_samples("trace_dat_export_per_event", "trace_cmd_report", dat);
  return 0;
}

registrar reg("tracepoint",
              "disabled and enabled tracepoint cost vs USDT and the kernel's; trace.dat export vs "
              "trace-cmd report",
              run);

}  // namespace

}  // namespace cpustop::bench
