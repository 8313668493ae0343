// The scheduler's statistics for readers outside it (the kernel's kcpustat_cpu_fetch,
// nr_context_switches, nr_running, and the task fields kernel/sched/debug.c shows).
#include <cerrno>

#include "cpustop/proc.h"
#include "kernel/cpu.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/stat.h"

namespace cpustop {

namespace {

bool valid_cpu(int cpu) {
  return runqueues && cpu >= 0 && static_cast<unsigned>(cpu) < nr_cpu_ids_;
}

}  // namespace

sched_fair_tunables sched_fair_tunables_fetch() {
  return {sysctl_sched_latency_ns.load(), sysctl_sched_min_granularity_ns.load(),
          sysctl_sched_wakeup_granularity_ns.load()};
}

void kcpustat_cpu_fetch(kernel_cpustat* dst, int cpu) {
  *dst = {};
  if (!valid_cpu(cpu)) return;
  rq* rq = cpu_rq(cpu);
  rq_lock_irq(rq);
  for (int i = 0; i < NR_STATS; i++) dst->cpustat[i] = stat_read(rq->cpustat[i]);
  // Idle time is accounted when the CPU leaves idle; add the period in progress.
  // rq->curr == rq->idle (the kernel's idle_cpu()), not curr's flags: an exiting task writes
  // those under its pi_lock, and a reader from another CPU holds only the rq lock.
  if (cpu_online(cpu) && rq->curr && rq->curr == rq->idle) {
    u64 now = get_jiffies_64();
    if (now > rq->last_tick_jiffies) dst->cpustat[CPUTIME_IDLE] += now - rq->last_tick_jiffies;
  }
  rq_unlock_irq(rq);
}

u64 nr_context_switches_cpu(int cpu) {
  return valid_cpu(cpu) ? stat_read(cpu_rq(cpu)->nr_switches) : 0;
}

u64 nr_context_switches() {
  u64 sum = 0;
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    sum += nr_context_switches_cpu(static_cast<int>(cpu));
  return sum;
}

unsigned int cpu_nr_running(int cpu) {
  return valid_cpu(cpu) ? cpu_rq(cpu)->nr_running.load() : 0;
}

unsigned int nr_running() {
  unsigned sum = 0;
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) sum += cpu_nr_running(static_cast<int>(cpu));
  return sum;
}

u64 cpu_nr_ttwu_remote(int cpu) {
  return valid_cpu(cpu) ? stat_read(cpu_rq(cpu)->nr_ttwu_remote) : 0;
}

void task_sched_stat_fetch(task_struct* p, task_sched_stat* out) {
  rq_flags rf;
  rq* rq = task_rq_lock(p, &rf);
  out->exec_start = p->se.exec_start;
  out->vruntime = static_cast<s64>(p->se.vruntime);
  out->sum_exec_runtime = stat_read(p->se.sum_exec_runtime);
  out->nr_migrations = stat_read(p->se.nr_migrations);
  out->nr_voluntary_switches = stat_read(p->nvcsw);
  out->nr_involuntary_switches = stat_read(p->nivcsw);
  out->load_weight = p->se.load.weight;
  out->policy = p->policy;
  out->prio = p->prio;
  task_rq_unlock(rq, p, &rf);
}

sched_stats get_sched_stats() {
  sched_stats s;
  s.wakeup = stat_read(migration_counts[MIG_WAKEUP]);
  s.affinity = stat_read(migration_counts[MIG_AFFINITY]);
  s.balance = stat_read(migration_counts[MIG_BALANCE]);
  s.active_balance = stat_read(migration_counts[MIG_ACTIVE_BALANCE]);
  s.hotplug = stat_read(migration_counts[MIG_HOTPLUG]);
  s.cross_node = stat_read(cross_node_migrations);
  s.affinity_violations = stat_read(affinity_violations);
  s.cpus_offlined = stat_read(hotplug_offline_count);
  s.cpus_onlined = stat_read(hotplug_online_count);
  return s;
}

}  // namespace cpustop
