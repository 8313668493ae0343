// The scheduler's side of CPU hotplug (the kernel's sched_cpu_* in kernel/sched/core.c):
// activation and deactivation of a CPU for new work, waiting for pinned tasks to leave, and
// vacating a dying CPU.
#include "kernel/sched/hotplug.h"

#include "kernel/printk.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/topology.h"
#include "kernel/sched/wait.h"
#include "kernel/system.h"
#include "kernel/time/jiffies.h"

namespace cpustop {

int sched_cpu_starting(unsigned cpu) {
  cpu_rq(static_cast<int>(cpu))->last_tick_jiffies = get_jiffies_64();
  return 0;
}

int sched_cpu_activate(unsigned cpu) {
  cpu_active_mask.set(cpu);
  update_sysctl_sched(cpu_active_mask.weight());
  if (system_state.load() == SYSTEM_RUNNING) build_sched_domains(true);
  return 0;
}

// From here on no new work is placed on the CPU: wakeups and the balancer skip inactive CPUs.
int sched_cpu_deactivate(unsigned cpu) {
  cpu_active_mask.clear(cpu);
  update_sysctl_sched(cpu_active_mask.weight());
  build_sched_domains(true);
  return 0;
}

// Tasks that disabled migration must leave the CPU on their own first.
int sched_cpu_wait_empty(unsigned cpu) {
  rq* rq = cpu_rq(static_cast<int>(cpu));
  while (rq->nr_pinned.load() > 0) {
    if (schedulable_current())
      msleep(1);
    else
      cond_wait([rq] { return rq->nr_pinned.load() == 0; });
  }
  return 0;
}

// A task queued on rq other than the running one, asking each class (__pick_migrate_task).
static task_struct* __pick_migrate_task(rq* rq) {
  for (const sched_class* c : sched_classes)
    if (c->pick_task)
      if (task_struct* p = c->pick_task(rq)) return p;
  return nullptr;
}

// migrate_tasks(): moves every task queued on the dying CPU to an allowed CPU (breaking affinity
// where none is left, as the kernel does). The stopper runs us (it is current) and stays.
static void migrate_tasks(unsigned cpu) {
  rq* dying = cpu_rq(static_cast<int>(cpu));
  for (;;) {
    rq_lock(dying);
    update_rq_clock(dying);
    task_struct* p = __pick_migrate_task(dying);
    if (p) get_task_struct(p);
    rq_unlock(dying);
    if (!p) break;
    unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
    rq_lock(dying);
    if (task_rq(p) == dying && task_on_rq_queued(p)) {
      int dest = select_fallback_rq(static_cast<int>(cpu), p);
      count_migration(static_cast<int>(cpu), dest, MIG_HOTPLUG);
      rq* to = move_queued_task(dying, p, dest);
      rq_unlock(to);
    } else {
      rq_unlock(dying);
    }
    __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
    put_task_struct(p);
  }
}

// sched_cpu_dying(): in take_cpu_down, on the dying CPU, with every other CPU stopped.
int sched_cpu_dying(unsigned cpu) {
  rq* dying = cpu_rq(static_cast<int>(cpu));
  sched_ttwu_pending();  // wakeups that were on their way here
  migrate_tasks(cpu);
  if (dying->nr_running > 1)
    printk_fmt("Dying CPU not properly vacated! (cpu%u: %u tasks)", cpu, dying->nr_running.load());
  idle_cpus_mask.clear(cpu);
  return 0;
}

}  // namespace cpustop
