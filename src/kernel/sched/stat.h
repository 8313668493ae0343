// What the rest of the kernel (the /proc views above all) may read of the scheduler without its
// private header: the kernel's linux/kernel_stat.h (per-CPU time), linux/sched/stat.h (run and
// switch counts), linux/sched/loadavg.h (avenrun) and the task statistics that
// kernel/sched/debug.c prints in /proc/<pid>/sched. Any context, including threads outside
// cpustop; values are snapshots.
#pragma once

#include "kernel/task.h"

namespace cpustop {

enum cpu_usage_stat {
  CPUTIME_USER,
  CPUTIME_NICE,
  CPUTIME_SYSTEM,
  CPUTIME_SOFTIRQ,
  CPUTIME_IRQ,
  CPUTIME_IDLE,
  CPUTIME_IOWAIT,
  CPUTIME_STEAL,
  CPUTIME_GUEST,
  CPUTIME_GUEST_NICE,
  NR_STATS,
};

// Jiffies per state. An idle CPU's current idle period is included (it is accounted only when the
// CPU next switches), as the kernel's get_idle_time() adds the NO_HZ idle time in progress.
struct kernel_cpustat {
  u64 cpustat[NR_STATS] = {};
};
void kcpustat_cpu_fetch(kernel_cpustat* dst, int cpu);

// The CFS tunables in force, in ns (/proc/sys/kernel/sched_*_ns): scaled by the active CPUs.
struct sched_fair_tunables {
  unsigned latency_ns, min_granularity_ns, wakeup_granularity_ns;
};
sched_fair_tunables sched_fair_tunables_fetch();
// RT throttling: the rt class may use runtime_us of every period_us on each CPU, by its tasks' CPU
// time; -1 is no limit (/proc/sys/kernel/sched_rt_{period,runtime}_us). The stores are the
// kernel's sched_rt_handler(): 0, or -EINVAL (a period under 1 us, a runtime other than -1 or
// 0..period), and then nothing changes. Any context.
void sched_rt_bandwidth_fetch(long long* period_us, long long* runtime_us);
int sched_rt_period_store(long long us);
int sched_rt_runtime_store(long long us);

u64 nr_context_switches_cpu(int cpu);
u64 nr_context_switches();
unsigned int cpu_nr_running(int cpu);
unsigned int nr_running();
u64 cpu_nr_ttwu_remote(int cpu);

// ---- Load average (kernel/sched/loadavg.c) ------------------------------------------------------

inline constexpr int FSHIFT = 11;  // bits of precision
inline constexpr unsigned long FIXED_1 = 1ul << FSHIFT;
inline constexpr unsigned long EXP_1 = 1884;   // 1/exp(5s/1min) as fixed point
inline constexpr unsigned long EXP_5 = 2014;   // 1/exp(5s/5min)
inline constexpr unsigned long EXP_15 = 2037;  // 1/exp(5s/15min)
inline constexpr unsigned long LOAD_INT(unsigned long x) {
  return x >> FSHIFT;
}
inline constexpr unsigned long LOAD_FRAC(unsigned long x) {
  return LOAD_INT((x & (FIXED_1 - 1)) * 100);
}

// Resets the averages at boot.
void calc_global_load_init();
// From scheduler_tick() on every CPU: once per LOAD_FREQ (5 s) one of them folds the number of
// runnable tasks into avenrun.
void calc_global_load_tick();
// The 1, 5 and 15 minute averages in FSHIFT fixed point, plus offset, shifted left by shift (the
// kernel's get_avenrun()). Periods in which no CPU ticked (every CPU idle) decay as idle.
void get_avenrun(unsigned long* loads, unsigned long offset, int shift);

// ---- A task's scheduler statistics (kernel/sched/debug.c) ---------------------------------------

struct task_sched_stat {
  u64 exec_start = 0;  // rq clock (ns) when it last started running
  s64 vruntime = 0;
  u64 sum_exec_runtime = 0, nr_migrations = 0;
  u64 nr_voluntary_switches = 0, nr_involuntary_switches = 0;
  unsigned long load_weight = 0;  // NICE_0_LOAD scale
  int policy = 0, prio = 0;
};
// Under the task's run-queue lock.
void task_sched_stat_fetch(task_struct* p, task_sched_stat* out);

}  // namespace cpustop
