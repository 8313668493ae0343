// top [-b] [-d SECS] [-n N]: top's batch screen for the machine: uptime and load, task states,
// each online CPU's use and each task's over the delay, busiest first.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>

#include "cpustop/cpustop.h"
#include "cpustop/shell.h"
#include "host/shell_util.h"

namespace cpustop {

using namespace host;

namespace {

struct sample {
  std::vector<cpu_stat> cpus;
  std::map<pid_t, task_info> tasks;
  std::chrono::steady_clock::time_point when;
};

sample take_sample() {
  sample s;
  for (unsigned c = 0; c < nr_cpu_ids(); c++) {
    cpu_stat st;
    cpu_get_stat(c, &st);
    s.cpus.push_back(st);
  }
  for (task_info& t : task_list()) s.tasks[t.pid] = std::move(t);
  s.when = std::chrono::steady_clock::now();
  return s;
}

std::string uptime_text() {
  std::string up;
  proc_read("/proc/uptime", &up);
  long secs = std::strtol(up.c_str(), nullptr, 10);
  return secs >= 3600 ? fmt::format("{:2}:{:02}", secs / 3600, secs / 60 % 60)
                      : fmt::format("{} min", secs / 60);
}

void print_screen(std::ostream& out, const sample& a, const sample& b) {
  std::time_t now = std::time(nullptr);
  char clock[16];
  std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&now));
  std::string load;
  proc_read("/proc/loadavg", &load);
  double l1 = 0, l5 = 0, l15 = 0;
  std::sscanf(load.c_str(), "%lf %lf %lf", &l1, &l5, &l15);
  out << fmt::format("top - {} up {},  load average: {:.2f}, {:.2f}, {:.2f}\n", clock,
                     uptime_text(), l1, l5, l15);
  unsigned running = 0, sleeping = 0, stopped = 0, zombie = 0;
  for (const auto& [pid, t] : b.tasks) {
    if (t.state == 'R')
      running++;
    else if (t.state == 'Z')
      zombie++;
    else if (t.state == 'T' || t.state == 't')
      stopped++;
    else
      sleeping++;
  }
  out << fmt::format("Tasks: {:3} total, {:3} running, {:3} sleeping, {:3} stopped, {:3} zombie\n",
                     b.tasks.size(), running, sleeping, stopped, zombie);
  for (unsigned c = 0; c < b.cpus.size(); c++) {
    const cpu_stat& x = a.cpus[c];
    const cpu_stat& y = b.cpus[c];
    if (!y.online) continue;
    double us = static_cast<double>(y.user - x.user), sy = static_cast<double>(y.system - x.system),
           ni = static_cast<double>(y.nice - x.nice), id = static_cast<double>(y.idle - x.idle),
           wa = static_cast<double>(y.iowait - x.iowait), hi = static_cast<double>(y.irq - x.irq),
           si = static_cast<double>(y.softirq - x.softirq),
           st = static_cast<double>(y.steal - x.steal);
    double total = us + sy + ni + id + wa + hi + si + st;
    if (total <= 0) id = total = 1;  // no tick in the interval: the CPU stayed idle
    auto pct = [&](double v) { return 100.0 * v / total; };
    out << fmt::format(
        "%Cpu{:<3}: {:5.1f} us, {:5.1f} sy, {:5.1f} ni, {:5.1f} id, {:5.1f} wa, {:5.1f} hi, "
        "{:5.1f} si, {:5.1f} st\n",
        c, pct(us), pct(sy), pct(ni), pct(id), pct(wa), pct(hi), pct(si), pct(st));
  }
  double interval_ns = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(b.when - a.when).count());
  struct row {
    const task_info* t;
    double pct;
  };
  std::vector<row> rows;
  for (const auto& [pid, t] : b.tasks) {
    auto it = a.tasks.find(pid);
    std::uint64_t before = it == a.tasks.end() ? 0 : it->second.sum_exec_runtime;
    double ran = static_cast<double>(t.sum_exec_runtime - std::min(before, t.sum_exec_runtime));
    rows.push_back({&t, interval_ns > 0 ? 100.0 * ran / interval_ns : 0});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const row& x, const row& y) { return x.pct > y.pct; });
  out << fmt::format("\n{:>7} {:<16} {:>3} {:>3} {:>3} {:>3} {} {:>5} {:>9}\n", "PID", "COMMAND",
                     "CLS", "PR", "NI", "PSR", "S", "%CPU", "TIME+");
  for (const row& r : rows) {
    const task_info& t = *r.t;
    int pr = t.prio - MAX_RT_PRIO;
    std::uint64_t cs = t.sum_exec_runtime / 10000000;  // hundredths of a second
    out << fmt::format("{:>7} {:<16} {:>3} {:>3} {:>3} {:>3} {} {:5.1f} {:>3}:{:02}.{:02}\n", t.pid,
                       t.comm, sched_policy_cls(t.policy), pr == -100 ? "rt" : std::to_string(pr),
                       t.nice, t.cpu, t.state, r.pct, cs / 6000, cs / 100 % 60, cs % 100);
  }
}

}  // namespace

int shell::top(const std::vector<std::string>& a) {
  double delay = 1.0;
  long iterations = 1;
  for (std::size_t i = 1; i < a.size(); i++) {
    const std::string& s = a[i];
    if (s == "-b") continue;
    char* end = nullptr;
    if (s == "-d" && i + 1 < a.size()) {
      delay = std::strtod(a[++i].c_str(), &end);
      if (*end || delay < 0 || delay > 3600) {
        *err_ << "top: bad delay interval '" << a[i] << "'\n";
        return 1;
      }
    } else if (s == "-n" && i + 1 < a.size() && parse_int(a[i + 1], &iterations) &&
               iterations > 0) {
      i++;
    } else {
      *err_ << "top: unknown option '" << s << "'\nUsage:\n  top [-b] [-d SECS] [-n N]\n";
      return 1;
    }
  }
  sample before = take_sample();
  for (long n = 0; n < iterations; n++) {
    if (!ctx_->sleep_ms(static_cast<long>(delay * 1000))) return 130;
    sample after = take_sample();
    if (n) *out_ << "\n";
    print_screen(*out_, before, after);
    before = std::move(after);
  }
  return 0;
}

}  // namespace cpustop
