// procfs-like views of tasks and CPUs: what ps, top and /proc show for the kernel's tasks.
// Any context; values are snapshots.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cpustop/cpumask.h"

namespace cpustop {

inline constexpr unsigned USER_HZ = 100;  // /proc reports times in clock ticks of 1/USER_HZ s

struct task_info {
  pid_t pid = 0;
  std::string comm;
  char state = '?';      // R S D P I Z X, as /proc/<pid>/stat
  bool kthread = false;  // shown in brackets by ps
  int policy = 0;        // SCHED_*
  int rt_priority = 0;   // 1..99 for SCHED_FIFO/SCHED_RR
  int nice = 0;
  int prio = 0;  // the kernel's internal priority (0..139)
  int cpu = -1;  // the CPU it runs or last ran on
  cpumask cpus_allowed;
  std::uint64_t utime = 0, stime = 0;  // jiffies (1/HZ s)
  std::uint64_t sum_exec_runtime = 0;  // ns
  std::uint64_t nvcsw = 0, nivcsw = 0;
  std::uint64_t nr_migrations = 0;
  std::uint64_t start_time = 0;  // ns since boot
  bool stop_class = false;       // the CPU's stopper (migration/N)
};

// 0 or -ESRCH.
int task_get_info(pid_t pid, task_info* out);
// Every task with a pid, in pid order; with_idle adds the idle tasks (pid 0, swapper/N).
std::vector<task_info> task_list(bool with_idle = false);

// ps's CLS column: TS, FF, RR, B, IDL.
const char* sched_policy_cls(int policy);

struct cpu_stat {
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;  // jiffies
  std::uint64_t nr_switches = 0;
  unsigned nr_running = 0;
  bool online = false;
  std::uint64_t irq_signals = 0, async_preempt = 0, async_declined = 0;
  std::uint64_t remote_wakeups = 0;
  std::uint64_t stop_works = 0;       // works run by this CPU's stopper
  std::uint64_t stopper_runtime = 0;  // ns its stopper (migration/N) has run
  std::uint64_t local_timer = 0;  // ticks handled (/proc/interrupts "LOC"): at most 1 per 1/HZ s
};
// 0 or -EINVAL.
int cpu_get_stat(unsigned cpu, cpu_stat* out);

// Where migrations came from, machine-wide since boot.
struct sched_stats {
  std::uint64_t wakeup = 0;               // placed on another CPU when woken
  std::uint64_t affinity = 0;             // moved by sched_setaffinity (directly or by migration/N)
  std::uint64_t balance = 0;              // pulled by the load balancer
  std::uint64_t active_balance = 0;       // pushed by migration/N for the balancer
  std::uint64_t hotplug = 0;              // moved off a CPU going down
  std::uint64_t cross_node = 0;           // any of the above that crossed NUMA nodes
  std::uint64_t affinity_violations = 0;  // switches into a task outside its mask (always 0)
  std::uint64_t cpus_offlined = 0, cpus_onlined = 0;  // hotplug operations since boot
};
sched_stats get_sched_stats();
// The scheduling domains of cpu, e.g. "cpu0 domains: SMT 0-1 MC 0-3".
std::string sched_domains_text(unsigned cpu);

// /proc/<pid>/stat (52 fields; times in USER_HZ ticks), /proc/<pid>/status, /proc/stat.
// Empty when pid does not exist.
std::string proc_pid_stat(pid_t pid);
std::string proc_pid_status(pid_t pid);
std::string proc_stat();
// A `ps -eLo pid,comm,cls,rtprio,ni,pri,psr,stat,time` style table ("[migration/0]" for kernel
// threads).
std::string ps_table(bool with_idle = false);

}  // namespace cpustop
