// Process ids: allocated cyclically up to pid_max (as the kernel does), looked up under a leaf
// spin lock. Pid 0 is the idle tasks' and is never in the table.
#pragma once

#include <functional>

#include "kernel/task.h"

namespace cpustop {

inline constexpr int PID_MAX_LIMIT = 4 * 1024 * 1024;
inline constexpr int RESERVED_PIDS = 300;

void pidmap_init();
void pidmap_exit();
// Publishes p under a new pid (stored in p->pid). 0 or -EAGAIN when every pid is taken.
int alloc_pid(task_struct* p);
void free_pid(task_struct* p);
// The task with that pid, with a reference the caller must put; nullptr if none.
task_struct* find_get_task_by_vpid(pid_t pid);
// Calls fn for every task with a pid, in pid order, each held by a reference during the call.
void for_each_process(const std::function<void(task_struct*)>& fn);
// Number of tasks that have a pid.
int nr_processes();
// Pids handed out since boot (the kernel's total_forks, /proc/stat "processes") and the latest
// one (/proc/loadavg).
unsigned long total_forks();
pid_t last_pid_nr();

}  // namespace cpustop
