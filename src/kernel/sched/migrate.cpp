// Where a task may run (kernel/sched/core.c: is_cpu_allowed, select_fallback_rq).
#include "kernel/cpu.h"
#include "kernel/kthread.h"
#include "kernel/printk.h"
#include "kernel/sched/sched.h"

namespace cpustop {

bool is_cpu_allowed(task_struct* p, int cpu) {
  // When not in the task's cpumask, no point in looking further.
  if (!cpumask_test_cpu(cpu, p->cpus_ptr)) return false;
  // migrate_disable() must be allowed to finish.
  if (p->migration_disabled) return cpu_online(cpu);
  // Non kernel threads are not allowed during either online or offline.
  if (!(p->flags & PF_KTHREAD)) return cpu_active(cpu);
  // KTHREAD_IS_PER_CPU is always allowed.
  if (kthread_is_per_cpu(p)) return cpu_online(cpu);
  // Regular kernel threads don't get to stay during offline.
  if (cpu_dying(cpu)) return false;
  // But are allowed during online.
  return cpu_online(cpu);
}

// With p->pi_lock held: an allowed CPU for p, breaking its affinity if none is left.
int select_fallback_rq(int cpu, task_struct* p) {
  for (unsigned dest : *p->cpus_ptr)
    if (is_cpu_allowed(p, static_cast<int>(dest))) return static_cast<int>(dest);
  // No more Mr. Nice Guy: every possible CPU.
  p->cpus_mask = cpumask::first_n(nr_cpu_ids_);
  p->cpus_ptr = &p->cpus_mask;
  p->nr_cpus_allowed = static_cast<int>(nr_cpu_ids_);
  // Kernel threads never leave the kernel: don't tell them about it.
  if (!(p->flags & PF_KTHREAD))
    printk_fmt("process %d (%s) no longer affine to cpu%d", p->pid, p->comm, cpu);
  for (unsigned dest : *p->cpus_ptr)
    if (is_cpu_allowed(p, static_cast<int>(dest))) return static_cast<int>(dest);
  std::fprintf(stderr, "BUG: no CPU for %s/%d\n", p->comm, p->pid);
  std::abort();
}

}  // namespace cpustop
