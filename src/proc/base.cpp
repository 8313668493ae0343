// The rest of a task's directory (fs/proc/base.c): comm, cmdline, environ, and the scheduler's
// own view of the task (kernel/sched/debug.c proc_sched_show_task, /proc/<pid>/schedstat).
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "proc/internal.h"

namespace cpustop::proc {

namespace {

constexpr int SCHED_FIXEDPOINT_SHIFT = 10;  // the kernel's load weights are scaled up by this

// "%-45s:%21Ld" and "%-45s:%14Ld.%06ld" (SPLIT_NS) of debug.c.
void put(std::string& m, const char* name, long long v) {
  m += fmt::format("{:<45}:{:>21}\n", name, v);
}
void put_ns(std::string& m, const char* name, long long ns) {
  m += fmt::format("{:<45}:{:>14}.{:06}\n", name, ns / 1000000, std::llabs(ns % 1000000));
}

}  // namespace

std::string pid_comm(const task_info& t) {
  return t.comm + "\n";
}

// A kernel thread has no command line (ps shows it in brackets); a task's is its name.
std::string pid_cmdline(const task_info& t) {
  return t.kthread ? std::string() : t.comm + std::string(1, '\0');
}

std::string pid_environ(const task_info&) {
  return {};
}

int pid_sched(pid_t pid, std::string* out) {
  task_struct* p = find_get_task_by_vpid(pid);
  if (!p) return -ESRCH;
  task_sched_stat s;
  task_sched_stat_fetch(p, &s);
  std::string m;
  {
    spin_irqsave_guard g(&p->pi_lock);
    m = fmt::format("{} ({}, #threads: 1)\n", p->comm, p->pid);
  }
  put_task_struct(p);
  m += "-------------------------------------------------------------------\n";
  put_ns(m, "se.exec_start", static_cast<long long>(s.exec_start));
  put_ns(m, "se.vruntime", s.vruntime);
  put_ns(m, "se.sum_exec_runtime", static_cast<long long>(s.sum_exec_runtime));
  put(m, "se.nr_migrations", static_cast<long long>(s.nr_migrations));
  put(m, "nr_switches",
      static_cast<long long>(s.nr_voluntary_switches + s.nr_involuntary_switches));
  put(m, "nr_voluntary_switches", static_cast<long long>(s.nr_voluntary_switches));
  put(m, "nr_involuntary_switches", static_cast<long long>(s.nr_involuntary_switches));
  put(m, "se.load.weight", static_cast<long long>(s.load_weight << SCHED_FIXEDPOINT_SHIFT));
  put(m, "policy", s.policy);
  put(m, "prio", s.prio);
  *out = std::move(m);
  return 0;
}

int pid_schedstat(pid_t pid, std::string* out) {
  task_struct* p = find_get_task_by_vpid(pid);
  if (!p) return -ESRCH;
  task_sched_stat s;
  task_sched_stat_fetch(p, &s);
  put_task_struct(p);
  // sum_exec_runtime, run_delay (not measured: 0), times it was switched in.
  *out = fmt::format("{} 0 {}\n", s.sum_exec_runtime,
                     s.nr_voluntary_switches + s.nr_involuntary_switches);
  return 0;
}

}  // namespace cpustop::proc
