// Inside `cpustop enter`, the real util-linux taskset, chrt and renice (and kill) make their
// system calls on pids that name the machine's tasks. A seccomp filter with user notification
// (libseccomp) traps exactly those calls in every process of the session; the supervisor answers
// the ones aimed at a task of the machine through its control socket (reading and writing the
// caller's memory with process_vm_readv/writev) and lets every other call continue to the real
// kernel: pid 0 and the caller itself, other process groups and users, and any pid the machine
// does not have.
#pragma once

#include <sys/types.h>

#include "cpustop/attach.h"

namespace cpustop::tool {

// In the child, before exec: installs the filter (without no_new_privs, so setuid programs still
// work: the caller is root) and returns the notification fd to hand to the supervisor, or -errno.
int sched_trap_install();

// In the parent: answers notifications on notify_fd until the process `child` exits; returns its
// wait status.
int sched_trap_supervise(int notify_fd, pid_t child, attach_client* machine);

}  // namespace cpustop::tool
