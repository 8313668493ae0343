// /proc/uptime (fs/proc/uptime.c): seconds since the machine booted, and the idle time of all its
// CPUs together, both with two decimals.
#include <fmt/format.h>

#include "cpustop/boot.h"
#include "kernel/sched/stat.h"
#include "kernel/time/jiffies.h"
#include "proc/internal.h"

namespace cpustop::proc {

std::string uptime_show() {
  u64 up = arch::local_clock() - boot_clock;
  u64 idle_jiffies = 0;
  for (unsigned c = 0; c < nr_cpu_ids(); c++) {
    kernel_cpustat k;
    kcpustat_cpu_fetch(&k, static_cast<int>(c));
    idle_jiffies += k.cpustat[CPUTIME_IDLE];
  }
  u64 idle = idle_jiffies * TICK_NSEC;
  return fmt::format("{}.{:02} {}.{:02}\n", up / NSEC_PER_SEC, up % NSEC_PER_SEC / 10000000,
                     idle / NSEC_PER_SEC, idle % NSEC_PER_SEC / 10000000);
}

}  // namespace cpustop::proc
