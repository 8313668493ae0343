// /proc/sys/kernel (kernel/sysctl.c, and the CFS tunables that kernels through 5.12 kept there
// before debugfs took them): read-only here.
#include <fmt/format.h>

#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "proc/internal.h"

namespace cpustop::proc {

const char* const sys_kernel_files[4] = {"pid_max", "sched_latency_ns", "sched_min_granularity_ns",
                                         "sched_wakeup_granularity_ns"};

bool sys_kernel_show(std::string_view name, std::string* out) {
  sched_fair_tunables t = sched_fair_tunables_fetch();
  if (name == "pid_max")
    *out = fmt::format("{}\n", PID_MAX_LIMIT);  // the machine's pids wrap below this
  else if (name == "sched_latency_ns")
    *out = fmt::format("{}\n", t.latency_ns);
  else if (name == "sched_min_granularity_ns")
    *out = fmt::format("{}\n", t.min_granularity_ns);
  else if (name == "sched_wakeup_granularity_ns")
    *out = fmt::format("{}\n", t.wakeup_granularity_ns);
  else
    return false;
  return true;
}

}  // namespace cpustop::proc
