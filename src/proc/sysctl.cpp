// /proc/sys/kernel (kernel/sysctl.c, and the CFS tunables that kernels through 5.12 kept there
// before debugfs took them): only the RT bandwidth pair is writable here.
#include <fmt/format.h>

#include <cerrno>

#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "proc/internal.h"

namespace cpustop::proc {

const char* const sys_kernel_files[6] = {"pid_max",
                                         "sched_latency_ns",
                                         "sched_min_granularity_ns",
                                         "sched_rt_period_us",
                                         "sched_rt_runtime_us",
                                         "sched_wakeup_granularity_ns"};

bool sys_kernel_show(std::string_view name, std::string* out) {
  sched_fair_tunables t = sched_fair_tunables_fetch();
  long long rt_period, rt_runtime;
  sched_rt_bandwidth_fetch(&rt_period, &rt_runtime);
  if (name == "pid_max")
    *out = fmt::format("{}\n", PID_MAX_LIMIT);  // the machine's pids wrap below this
  else if (name == "sched_latency_ns")
    *out = fmt::format("{}\n", t.latency_ns);
  else if (name == "sched_min_granularity_ns")
    *out = fmt::format("{}\n", t.min_granularity_ns);
  else if (name == "sched_rt_period_us")
    *out = fmt::format("{}\n", rt_period);
  else if (name == "sched_rt_runtime_us")
    *out = fmt::format("{}\n", rt_runtime);
  else if (name == "sched_wakeup_granularity_ns")
    *out = fmt::format("{}\n", t.wakeup_granularity_ns);
  else
    return false;
  return true;
}

bool sys_kernel_writable(std::string_view name) {
  return name == "sched_rt_period_us" || name == "sched_rt_runtime_us";
}

namespace {

// proc_dointvec()'s write of one int: blanks around an optional '-' and decimal digits. 0 or
// -EINVAL (blanks alone too).
int proc_dointvec_parse(std::string_view s, long long* out) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 10) return -EINVAL;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -EINVAL;
    v = v * 10 + (c - '0');
  }
  if (v > (neg ? 2147483648LL : 2147483647LL)) return -EINVAL;
  *out = neg ? -v : v;
  return 0;
}

}  // namespace

int sys_kernel_store(std::string_view name, std::string_view buf) {
  if (!sys_kernel_writable(name)) return -EACCES;
  long long v;
  if (int err = proc_dointvec_parse(buf, &v)) return err;
  return name == "sched_rt_period_us" ? sched_rt_period_store(v) : sched_rt_runtime_store(v);
}

}  // namespace cpustop::proc
