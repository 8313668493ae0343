// The machine's side of the system calls that `cpustop enter` traps: the real taskset, chrt,
// renice and kill inside enter make sched_setaffinity(2), sched_setscheduler(2), setpriority(2),
// kill(2)... on a pid, and when that pid is one of the machine's tasks the call arrives here as a
// request `sys COMM CALL ARGS...` (COMM: the caller's name, after which a task is named to make
// the change, as the kernel's trace would show `taskset-42`). The reply's status is 0 or the
// positive errno; ESRCH means "not the machine's task" and enter lets the real kernel have the
// call. Values come back as text in the reply's output:
//
//   sched_setaffinity PID CPULIST        sched_getaffinity PID -> "NR_CPU_IDS CPULIST"
//   sched_setscheduler PID POLICY PRIO   sched_getscheduler PID -> "POLICY"
//   sched_setparam PID PRIO              sched_getparam PID -> "PRIO"
//   sched_setattr PID POLICY FLAGS NICE PRIO
//   sched_getattr PID -> "POLICY NICE PRIO"
//   setpriority PID NICE                 getpriority PID -> "NICE"
//   kill PID SIG
//
// Bad argument text is EINVAL and changes nothing.
#pragma once

#include <string>
#include <vector>

#include "host/protocol.h"

namespace cpustop {
class shell_context;
}

namespace cpustop::host {

// argv[0] is "sys". kill stops a task that the shell spawned; signal 0 checks that the pid
// exists; kernel threads ignore signals (0, as the kernel's); other tasks cannot be signalled
// (EPERM).
reply sys_request(const std::vector<std::string>& argv, shell_context* ctx);

}  // namespace cpustop::host
