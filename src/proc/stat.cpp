// /proc/stat (fs/proc/stat.c): per-CPU time in USER_HZ ticks (the sum over possible CPUs, then
// each online CPU), interrupts, context switches, boot time, forks, runnable tasks.
#include <fmt/format.h>

#include "cpustop/boot.h"
#include "kernel/percpu.h"
#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "proc/internal.h"

namespace cpustop::proc {

namespace {

void put_cpu_line(std::string& out, const std::string& name, const kernel_cpustat& k) {
  out += name;
  for (int i : {CPUTIME_USER, CPUTIME_NICE, CPUTIME_SYSTEM, CPUTIME_IDLE, CPUTIME_IOWAIT,
                CPUTIME_IRQ, CPUTIME_SOFTIRQ, CPUTIME_STEAL, CPUTIME_GUEST, CPUTIME_GUEST_NICE})
    out += fmt::format(" {}", jiffies_to_clock_t(k.cpustat[i]));
  out += '\n';
}

}  // namespace

std::string proc_stat_show() {
  unsigned n = nr_cpu_ids();
  std::vector<kernel_cpustat> per(n);
  kernel_cpustat sum;
  u64 irqs = 0;
  for (unsigned c = 0; c < n; c++) {
    kcpustat_cpu_fetch(&per[c], static_cast<int>(c));
    for (int i = 0; i < NR_STATS; i++) sum.cpustat[i] += per[c].cpustat[i];
    irqs += per_cpu_hot(c)->nr_irq_signals.load(std::memory_order_relaxed);
  }
  std::string out;
  put_cpu_line(out, "cpu ", sum);
  for (unsigned c = 0; c < n; c++)
    if (cpu_online(static_cast<int>(c))) put_cpu_line(out, fmt::format("cpu{}", c), per[c]);
  out += fmt::format(
      "intr {}\nctxt {}\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\n"
      "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
      irqs, nr_context_switches(), host_info().btime, total_forks(), nr_running());
  return out;
}

}  // namespace cpustop::proc

namespace cpustop {

std::string proc_stat() {
  return booted() ? proc::proc_stat_show() : std::string();
}

}  // namespace cpustop
