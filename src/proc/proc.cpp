// procfs-like views (fs/proc/array.c, fs/proc/stat.c) and the ps table.
#include <fmt/format.h>

#include "cpustop/proc.h"
#include "kernel/cpu.h"
#include "kernel/pid.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/topology.h"
#include "kernel/stop_machine.h"

namespace cpustop {

namespace {

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

const char* state_name(char c) {
  switch (c) {
    case 'R':
      return "R (running)";
    case 'S':
      return "S (sleeping)";
    case 'D':
      return "D (disk sleep)";
    case 'P':
      return "P (parked)";
    case 'I':
      return "I (idle)";
    case 'Z':
      return "Z (zombie)";
    case 'X':
      return "X (dead)";
  }
  return "R (running)";
}

void fill_info(task_struct* p, task_info* out) {
  spin_irqsave_guard g(&p->pi_lock);
  out->pid = p->pid;
  out->comm = p->comm;
  out->state = task_state_char(p);
  if (is_idle_task(p) && out->state == 'R') out->state = 'I';
  out->kthread = p->flags & PF_KTHREAD;
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
  out->stop_class = p->sched_class == &stop_sched_class;
}

u64 jiffies_to_clock_t(u64 j) {
  return j * USER_HZ / HZ;
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
  if (!booted() || cpu >= nr_cpu_ids_ || !runqueues || !out) return -EINVAL;
  rq* rq = cpu_rq(static_cast<int>(cpu));
  cpu_hot* h = per_cpu_hot(cpu);
  out->user = stat_read(rq->cpustat[CPUTIME_USER]);
  out->nice = stat_read(rq->cpustat[CPUTIME_NICE]);
  out->system = stat_read(rq->cpustat[CPUTIME_SYSTEM]);
  out->idle = stat_read(rq->cpustat[CPUTIME_IDLE]);
  out->iowait = stat_read(rq->cpustat[CPUTIME_IOWAIT]);
  out->irq = stat_read(rq->cpustat[CPUTIME_IRQ]);
  out->softirq = stat_read(rq->cpustat[CPUTIME_SOFTIRQ]);
  out->steal = stat_read(rq->cpustat[CPUTIME_STEAL]);
  out->nr_switches = stat_read(rq->nr_switches);
  out->nr_running = rq->nr_running.load(std::memory_order_relaxed);
  out->online = cpu_online(static_cast<int>(cpu));
  out->irq_signals = stat_read(h->nr_irq_signals);
  out->async_preempt = stat_read(h->nr_async_preempt);
  out->async_declined = stat_read(h->nr_async_declined);
  out->local_timer = stat_read(h->nr_local_timer);
  out->remote_wakeups = stat_read(rq->nr_ttwu_remote);
  out->stop_works = cpu_stop_works_done(cpu);
  if (task_struct* stopper = cpu_stopper_task(static_cast<int>(cpu)))
    out->stopper_runtime = stat_read(stopper->se.sum_exec_runtime);
  return 0;
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

std::string sched_domains_text(unsigned cpu) {
  if (!booted() || cpu >= nr_cpu_ids_) return {};
  preempt_disable();
  std::string s = sched_domains_summary(static_cast<int>(cpu));
  preempt_enable();
  return s;
}

std::string proc_pid_stat(pid_t pid) {
  task_info t;
  if (task_get_info(pid, &t)) return {};
  // Fields 1..52 of proc(5); the memory and signal ones are 0 (tasks share the process).
  int priority = t.prio - MAX_RT_PRIO;
  return fmt::format(
      "{} ({}) {} {} {} {} 0 -1 {} 0 0 0 0 {} {} 0 0 {} {} 1 0 {} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
      "{} {} {} 0 0 0 0 0 0 0 0 0 0 0\n",
      t.pid, t.comm, t.state, t.kthread || t.pid == 1 ? 0 : 1, t.pid, t.pid,
      t.kthread ? 0x00200040u : 0x00400000u, jiffies_to_clock_t(t.utime),
      jiffies_to_clock_t(t.stime), priority, t.nice, t.start_time * USER_HZ / NSEC_PER_SEC, t.cpu,
      t.rt_priority, t.policy);
}

std::string proc_pid_status(pid_t pid) {
  task_info t;
  if (task_get_info(pid, &t)) return {};
  return fmt::format(
      "Name:\t{}\nState:\t{}\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\nKthread:\t{}\nThreads:\t1\n"
      "Cpus_allowed:\t{}\nCpus_allowed_list:\t{}\nvoluntary_ctxt_switches:\t{}\n"
      "nonvoluntary_ctxt_switches:\t{}\n",
      t.comm, state_name(t.state), t.pid, t.pid, t.kthread || t.pid == 1 ? 0 : 1, t.kthread ? 1 : 0,
      cpumask_to_hex(t.cpus_allowed), cpumask_to_cpulist(t.cpus_allowed), t.nvcsw, t.nivcsw);
}

std::string proc_stat() {
  if (!booted()) return {};
  std::string out;
  cpu_stat total;
  std::vector<cpu_stat> per(nr_cpu_ids_);
  u64 ctxt = 0;
  unsigned running = 0;
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    cpu_get_stat(c, &per[c]);
    total.user += per[c].user;
    total.nice += per[c].nice;
    total.system += per[c].system;
    total.idle += per[c].idle;
    total.iowait += per[c].iowait;
    total.irq += per[c].irq;
    total.softirq += per[c].softirq;
    total.steal += per[c].steal;
    ctxt += per[c].nr_switches;
    running += per[c].nr_running;
  }
  auto line = [](const std::string& name, const cpu_stat& s) {
    return fmt::format("{} {} {} {} {} {} {} {} {} 0 0\n", name, jiffies_to_clock_t(s.user),
                       jiffies_to_clock_t(s.nice), jiffies_to_clock_t(s.system),
                       jiffies_to_clock_t(s.idle), jiffies_to_clock_t(s.iowait),
                       jiffies_to_clock_t(s.irq), jiffies_to_clock_t(s.softirq),
                       jiffies_to_clock_t(s.steal));
  };
  out += line("cpu ", total);
  for (unsigned c = 0; c < nr_cpu_ids_; c++)
    if (per[c].online) out += line(fmt::format("cpu{}", c), per[c]);
  out += fmt::format("ctxt {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\n", ctxt,
                     nr_processes(), running);
  return out;
}

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
