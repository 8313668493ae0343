// Task snapshots (the fields fs/proc/array.c reads under the task's locks), the task list, and the
// per-CPU counters shown by the tools.
#include <cerrno>

#include "cpustop/preempt.h"
#include "kernel/cpu.h"
#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "kernel/sched/topology.h"
#include "kernel/stop_machine.h"
#include "proc/internal.h"

namespace cpustop {

namespace {

// The kernel's task_state_index() letters: R S D P I Z X.
char task_state_char(const task_struct* p) {
  int exit_state = p->exit_state.load(std::memory_order_relaxed);
  if (exit_state == EXIT_ZOMBIE) return 'Z';
  if (exit_state == EXIT_DEAD) return 'X';
  unsigned state = task_state(p);
  if (state == TASK_RUNNING || state == TASK_WAKING || state == TASK_NEW) return 'R';
  if (state & TASK_PARKED) return 'P';
  if (state == TASK_IDLE) return 'I';
  if (state & TASK_INTERRUPTIBLE) return 'S';
  if (state & TASK_UNINTERRUPTIBLE) return 'D';
  if (state & TASK_DEAD) return 'X';
  return 'R';
}

void fill_info(task_struct* p, task_info* out) {
  spin_irqsave_guard g(&p->pi_lock);
  out->pid = p->pid;
  out->flags = p->flags;
  out->comm = p->comm;
  out->state = task_state_char(p);
  if (is_idle_task(p) && out->state == 'R') out->state = 'I';
  out->kthread = p->flags & PF_KTHREAD;
  // The kernel's family: kthreadd (2) parents every kernel thread; init (1) every other task.
  // Kernel threads have no process group or session; the rest share init's.
  bool kthreadd = out->kthread && p->pid == 2;
  out->ppid = p->pid <= 2 || is_idle_task(p) ? 0 : out->kthread ? 2 : 1;
  out->pgrp = out->session = out->kthread || kthreadd || is_idle_task(p) ? 0 : 1;
  out->policy = p->policy;
  out->rt_priority = static_cast<int>(p->rt_priority);
  out->nice = task_nice_of(p);
  out->prio = p->prio;
  out->cpu = task_cpu(p);
  out->cpus_allowed = p->cpus_mask;
  out->utime = stat_read(p->utime);
  out->stime = stat_read(p->stime);
  out->sum_exec_runtime = stat_read(p->se.sum_exec_runtime);
  out->nvcsw = stat_read(p->nvcsw);
  out->nivcsw = stat_read(p->nivcsw);
  out->nr_migrations = stat_read(p->se.nr_migrations);
  out->start_time = p->start_time;
  out->stop_class = out->cpu >= 0 && p == cpu_stopper_task(out->cpu);
}

}  // namespace

int task_get_info(pid_t pid, task_info* out) {
  if (!booted() || !out) return -ESRCH;
  task_struct* p = find_get_task_by_vpid(pid);
  if (!p) return -ESRCH;
  fill_info(p, out);
  put_task_struct(p);
  return 0;
}

std::vector<task_info> task_list(bool with_idle) {
  std::vector<task_info> out;
  if (!booted()) return out;
  if (with_idle) {
    for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
      if (task_struct* idle = idle_task(cpu)) {
        task_info ti;
        fill_info(idle, &ti);
        out.push_back(std::move(ti));
      }
    }
  }
  for_each_process([&](task_struct* p) {
    task_info ti;
    fill_info(p, &ti);
    out.push_back(std::move(ti));
  });
  return out;
}

const char* sched_policy_cls(int policy) {
  switch (policy) {
    case SCHED_NORMAL:
      return "TS";
    case SCHED_FIFO:
      return "FF";
    case SCHED_RR:
      return "RR";
    case SCHED_BATCH:
      return "B";
    case SCHED_IDLE:
      return "IDL";
  }
  return "?";
}

int cpu_get_stat(unsigned cpu, cpu_stat* out) {
  if (!booted() || cpu >= nr_cpu_ids_ || !out) return -EINVAL;
  int c = static_cast<int>(cpu);
  kernel_cpustat k;
  kcpustat_cpu_fetch(&k, c);
  out->user = k.cpustat[CPUTIME_USER];
  out->nice = k.cpustat[CPUTIME_NICE];
  out->system = k.cpustat[CPUTIME_SYSTEM];
  out->idle = k.cpustat[CPUTIME_IDLE];
  out->iowait = k.cpustat[CPUTIME_IOWAIT];
  out->irq = k.cpustat[CPUTIME_IRQ];
  out->softirq = k.cpustat[CPUTIME_SOFTIRQ];
  out->steal = k.cpustat[CPUTIME_STEAL];
  out->nr_switches = nr_context_switches_cpu(c);
  out->nr_running = cpu_nr_running(c);
  out->online = cpu_online(c);
  cpu_hot* h = per_cpu_hot(cpu);
  out->irq_signals = stat_read(h->nr_irq_signals);
  out->async_preempt = stat_read(h->nr_async_preempt);
  out->async_declined = stat_read(h->nr_async_declined);
  out->local_timer = stat_read(h->nr_local_timer);
  out->remote_wakeups = cpu_nr_ttwu_remote(c);
  out->stop_works = cpu_stop_works_done(cpu);
  if (task_struct* stopper = cpu_stopper_task(c))
    out->stopper_runtime = stat_read(stopper->se.sum_exec_runtime);
  return 0;
}

std::string sched_domains_text(unsigned cpu) {
  if (!booted() || cpu >= nr_cpu_ids_) return {};
  preempt_disable();
  std::string s = sched_domains_summary(static_cast<int>(cpu));
  preempt_enable();
  return s;
}

}  // namespace cpustop
