// The shell's ps table: the columns of `ps -eLo pid,comm,cls,rtprio,ni,pri,psr,stat`, with
// UTIME/STIME in jiffies, read from the same snapshots as /proc/<pid>/stat.
#include <fmt/format.h>

#include "cpustop/proc.h"
#include "cpustop/sched.h"

namespace cpustop {

std::string ps_table(bool with_idle) {
  std::string out =
      fmt::format("{:>7} {:<18} {:>3} {:>6} {:>3} {:>3} {:>3} {:<4} {:>6} {:>6}\n", "PID",
                  "COMMAND", "CLS", "RTPRIO", "NI", "PRI", "PSR", "STAT", "UTIME", "STIME");
  for (const task_info& t : task_list(with_idle)) {
    bool rt = t.policy == SCHED_FIFO || t.policy == SCHED_RR;
    std::string comm = t.kthread ? "[" + t.comm + "]" : t.comm;
    // procps "pri": 39 - priority, where priority is prio - 100 (so FIFO 99 shows 139).
    int pri = 39 - (t.prio - MAX_RT_PRIO);
    out += fmt::format("{:>7} {:<18} {:>3} {:>6} {:>3} {:>3} {:>3} {:<4} {:>6} {:>6}\n", t.pid,
                       comm, sched_policy_cls(t.policy), rt ? std::to_string(t.rt_priority) : "-",
                       rt ? "-" : std::to_string(t.nice), pri, t.cpu, std::string(1, t.state),
                       t.utime, t.stime);
  }
  return out;
}

}  // namespace cpustop
