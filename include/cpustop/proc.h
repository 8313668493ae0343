// procfs and sysfs views of the machine, byte for byte what the kernel prints: /proc/<pid>/stat,
// status, ..., /proc/stat, uptime, loadavg, and /sys/devices/system/cpu. There is one generator
// per file, reached by path (proc_read() and friends below); the shell, the control socket and the
// FUSE export all read through it. Any context, including threads outside cpustop, unless noted;
// values are snapshots.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cpustop/cpumask.h"

namespace cpustop {

inline constexpr unsigned USER_HZ = 100;  // /proc reports times in clock ticks of 1/USER_HZ s

struct task_info {
  pid_t pid = 0;
  pid_t ppid = 0;      // kernel threads 2, kthreadd and init 0, other tasks 1 (init)
  pid_t pgrp = 0;      // kernel threads 0, other tasks 1 (init's session)
  pid_t session = 0;   // as pgrp
  unsigned flags = 0;  // PF_* (PF_KTHREAD 0x00200000, PF_NO_SETAFFINITY 0x04000000, ...)
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

// ---- The view, by path
// ---------------------------------------------------------------------------
//
// Paths are absolute: "/proc", "/proc/42/stat", "/proc/42/task/42/status", "/proc/loadavg",
// "/sys/devices/system/cpu/cpu1/online", and the directories leading to them from "/". Pid 0
// (the idle tasks) has no directory, as in the kernel. With self > 0, "/proc/self" is a link to
// that pid (and "/proc/thread-self" to "<self>/task/<self>"); with self == 0 they do not exist
// (the FUSE export answers them with the caller's real process).

enum class proc_entry_type : unsigned char { dir, file, link };
struct proc_entry {
  proc_entry_type type = proc_entry_type::file;
  unsigned mode = 0444;  // permission bits: 0555 directories, 0444 files, 0644 writable ones
  // Exists for the whole boot (the CPU directories, /proc/stat) rather than for a task's life.
  bool stable = false;
};
// 0 or -ENOENT (-ENOTDIR when a file is used as a directory).
int proc_lookup(std::string_view path, proc_entry* out, pid_t self = 0);
// The text of a file, built now (as seq_file does at open). 0, -ENOENT, -EISDIR, -EINVAL (a link).
int proc_read(std::string_view path, std::string* out, pid_t self = 0);
// A link's target. 0, -ENOENT, -EINVAL (not a link).
int proc_readlink(std::string_view path, std::string* out, pid_t self = 0);
// The names in a directory, in the kernel's order (files, then pids ascending). 0, -ENOENT,
// -ENOTDIR.
int proc_readdir(std::string_view path, std::vector<std::string>* names, pid_t self = 0);
// Stores data into a writable file as one write(2) would: /sys/devices/system/cpu/cpuN/online
// takes kstrtobool() text ("0", "1", "y", "n", "on", "off", with or without a newline); the
// state it is already in is a no-op. Returns 0, -EINVAL (not a boolean), -EBUSY (the last online
// CPU, or hotplug disabled), -ENOENT, -EACCES (not writable), or the hotplug error. May sleep
// (CPU hotplug): call it from a task or from a thread outside cpustop.
// /proc/sys/kernel/sched_rt_period_us and sched_rt_runtime_us take a decimal int as the kernel's
// proc_dointvec() does: -EINVAL for anything else, a period under 1, a runtime other than -1 or
// 0..period_us; nothing changes then.
int proc_write(std::string_view path, std::string_view data);

// Who the machine's tasks belong to (the Uid/Gid lines of status) and when it booted in seconds
// since the epoch (btime in /proc/stat). Set by the host layer at boot; 0 until then.
struct proc_host_info {
  unsigned uid = 0, gid = 0;
  std::uint64_t btime = 0;
};
void proc_set_host_info(const proc_host_info& info);
// A `ps -eLo pid,comm,cls,rtprio,ni,pri,psr,stat,time` style table ("[migration/0]" for kernel
// threads).
std::string ps_table(bool with_idle = false);

}  // namespace cpustop
