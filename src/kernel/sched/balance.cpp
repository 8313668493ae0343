// Load balancing (kernel/sched/fair.c: sched_balance_rq and friends), simplified to task counts:
// a CPU pulls queued fair tasks from the busiest CPU of its domains, bottom up. When nothing can
// be pulled because the only movable task is the one running there, it asks the busiest CPU's
// stopper to push it (active balance, active_load_balance_cpu_stop). Periodic balancing runs from
// the tick through SCHED_SOFTIRQ; a busy CPU kicks an idle one (nohz) to pull, and a CPU about to
// go idle tries a pull first (newidle).
#include "cpustop/softirq.h"
#include "kernel/irq.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/topology.h"
#include "kernel/softirq.h"

namespace cpustop {

stat_u64 migration_counts[NR_MIG_CAUSES];
stat_u64 cross_node_migrations;
std::atomic<bool> rd_overloaded{false};

namespace {

enum cpu_idle_type { CPU_IDLE, CPU_NOT_IDLE, CPU_NEWLY_IDLE };
constexpr unsigned MAX_PULL = 32;

unsigned cfs_load(int cpu) {
  return cpu_rq(cpu)->cfs.nr_running;
}

// Can p move from its CPU to dst? (can_migrate_task)
bool can_migrate_task(task_struct* p, int dst) {
  return p->sched_class == &fair_sched_class && cpumask_test_cpu(dst, p->cpus_ptr) &&
         !p->migration_disabled && !task_on_cpu(p) && is_cpu_allowed(p, dst);
}

// The load balancer is the fair class's own (the kernel's fair.c): it walks only CFS queues.
// With both run queues locked: take up to n queued fair tasks off src that may run on dst,
// the last in vruntime order first (detach_tasks). Returns how many went into `moving`.
unsigned detach_tasks(rq* src, rq* dst, unsigned n, task_struct** moving, bool* some_pinned) {
  unsigned count = 0;
  n = std::min(n, MAX_PULL);
  for (auto it = src->cfs.tasks_timeline.rbegin();
       it != src->cfs.tasks_timeline.rend() && count < n; ++it) {
    task_struct* p = container_of(&*it, task_struct, se);
    if (can_migrate_task(p, dst->cpu))
      moving[count++] = p;
    else
      *some_pinned = true;
  }
  update_rq_clock(src);
  for (unsigned i = 0; i < count; i++) {
    deactivate_task(src, moving[i], DEQUEUE_NOCLOCK);
    set_task_cpu(moving[i], dst->cpu);
  }
  return count;
}

// Queues the detached tasks on dst (attach_tasks).
void attach_tasks(rq* src, rq* dst, task_struct** moving, unsigned count) {
  update_rq_clock(dst);
  for (unsigned i = 0; i < count; i++) {
    activate_task(dst, moving[i], ENQUEUE_NOCLOCK);
    wakeup_preempt(dst, moving[i], 0);
    count_migration(src->cpu, dst->cpu, MIG_BALANCE);
  }
}

// Locks busiest with this_rq already held, in CPU order (double_lock_balance). Returns true if
// this_rq was dropped meanwhile.
bool double_lock_balance(rq* this_rq, rq* busiest) {
  if (busiest->cpu > this_rq->cpu) {
    rq_lock(busiest);
    return false;
  }
  rq_unlock(this_rq);
  rq_lock(busiest);
  rq_lock(this_rq);
  return true;
}

// sched_balance_find_src_group/rq, reduced to task counts: the group with the most fair tasks
// outside this CPU's group, if it has at least two more than ours, and its busiest CPU.
struct lb_env {
  int busiest_cpu = -1;
  unsigned imbalance = 0;  // tasks to move
};

// The group with the most fair tasks outside this CPU's, if it has at least two more than ours;
// *imbalance is then the number of tasks to move. A pass over a top domain (top) also sets
// rd_overloaded to what it saw, as update_sd_lb_stats() does.
const cpumask* find_busiest_group(int this_cpu, const sched_domain& sd, bool top,
                                  unsigned* imbalance) {
  unsigned local_load = 0, busiest_load = 0;
  const cpumask* busiest_group = nullptr;
  bool overloaded = false;
  for (const cpumask& group : sd.groups) {
    unsigned load = 0;
    for (unsigned c : group) {
      load += cfs_load(static_cast<int>(c));
      if (cpu_rq(static_cast<int>(c))->nr_running.load(std::memory_order_relaxed) > 1)
        overloaded = true;
    }
    if (group.test(static_cast<unsigned>(this_cpu))) {
      local_load = load;
    } else if (load > busiest_load) {
      busiest_load = load;
      busiest_group = &group;
    }
  }
  if (top && rd_overloaded.load(std::memory_order_relaxed) != overloaded)
    rd_overloaded.store(overloaded, std::memory_order_relaxed);
  if (!busiest_group || busiest_load < local_load + 2) return nullptr;
  *imbalance = std::max(1u, (busiest_load - local_load) / 2);
  return busiest_group;
}

// The CPU of group with the most fair tasks.
int find_busiest_queue(const cpumask& group) {
  unsigned max_load = 0;
  int busiest = -1;
  for (unsigned c : group) {
    unsigned load = cfs_load(static_cast<int>(c));
    if (load > max_load) {
      max_load = load;
      busiest = static_cast<int>(c);
    }
  }
  return busiest;
}

lb_env find_busiest(int this_cpu, const sched_domain& sd) {
  lb_env env;
  const std::vector<sched_domain>& domains = cpu_sched_domains(this_cpu);
  bool top = !domains.empty() && &sd == &domains.back();
  if (const cpumask* group = find_busiest_group(this_cpu, sd, top, &env.imbalance))
    env.busiest_cpu = find_busiest_queue(*group);
  return env;
}

int active_load_balance_cpu_stop(void* data);

// Asks busiest's stopper to push its running task to this_cpu. busiest->lock held.
bool start_active_balance(rq* busiest, int this_cpu) {
  if (busiest->active_balance) return false;
  task_struct* curr = busiest->curr;
  if (curr->sched_class != &fair_sched_class || !cpumask_test_cpu(this_cpu, curr->cpus_ptr) ||
      curr->migration_disabled)
    return false;
  busiest->active_balance = 1;
  busiest->push_cpu = this_cpu;
  return true;
}

// sched_balance_rq(): one balancing pass of this_cpu over sd. Returns tasks moved. With
// this_rq->lock held when newidle (and still held on return).
unsigned load_balance(int this_cpu, sched_domain& sd, cpu_idle_type idle, bool this_locked) {
  rq* this_rq = cpu_rq(this_cpu);
  lb_env env = find_busiest(this_cpu, sd);
  if (env.busiest_cpu < 0) return 0;
  int busiest_cpu = env.busiest_cpu;
  rq* busiest = cpu_rq(busiest_cpu);
  bool this_idle = idle != CPU_NOT_IDLE;
  unsigned n = env.imbalance;

  bool some_pinned = false;
  if (this_locked)
    double_lock_balance(this_rq, busiest);
  else
    double_rq_lock(this_rq, busiest);
  task_struct* moving[MAX_PULL];
  unsigned moved = detach_tasks(busiest, this_rq, n, moving, &some_pinned);
  attach_tasks(busiest, this_rq, moving, moved);
  bool active = false;
  if (!moved) {
    sd.nr_balance_failed++;
    // need_active_balance(): an idle CPU that could take the running task, when nothing queued
    // there can move (it runs alone, or the others are pinned) or passive balancing keeps
    // failing.
    bool alone = busiest->cfs.nr_running == 1;
    if (this_idle && idle != CPU_NEWLY_IDLE && (alone || some_pinned || sd.nr_balance_failed > 3))
      active = start_active_balance(busiest, this_cpu);
  } else {
    sd.nr_balance_failed = 0;
  }
  rq_unlock(busiest);
  if (!this_locked) rq_unlock(this_rq);
  if (active) {
    // Preemption stays off from the unlock to the queueing (fix f0498d2a54e7's pattern).
    __preempt_count_add(1);
    stop_one_cpu_nowait(static_cast<unsigned>(busiest_cpu), active_load_balance_cpu_stop, busiest,
                        &busiest->active_balance_work);
    __preempt_enable();
    sd.nr_balance_failed = 0;
  }
  return moved;
}

// active_load_balance_cpu_stop is run by the CPU stopper. It pushes running tasks off the busiest
// CPU onto an idle CPU. It always clears busiest->active_balance.
int active_load_balance_cpu_stop(void* data) {
  rq* busiest = static_cast<rq*>(data);
  int busiest_cpu = busiest->cpu;
  rq_lock_irq(busiest);
  int target_cpu = busiest->push_cpu;
  if (busiest_cpu == raw_smp_processor_id() && busiest->active_balance &&
      busiest->nr_running.load(std::memory_order_relaxed) > 1 && cpu_active(busiest_cpu) &&
      target_cpu >= 0 && cpu_active(target_cpu)) {
    rq* target = cpu_rq(target_cpu);
    double_lock_balance(busiest, target);
    // The task we were asked to push was running; now the stopper runs and it is queued.
    for (auto it = busiest->cfs.tasks_timeline.begin(); it != busiest->cfs.tasks_timeline.end();
         ++it) {
      task_struct* p = container_of(&*it, task_struct, se);
      if (!can_migrate_task(p, target_cpu)) continue;
      update_rq_clock(busiest);
      update_rq_clock(target);
      deactivate_task(busiest, p, DEQUEUE_NOCLOCK);
      set_task_cpu(p, target_cpu);
      activate_task(target, p, ENQUEUE_NOCLOCK);
      wakeup_preempt(target, p, 0);
      count_migration(busiest_cpu, target_cpu, MIG_ACTIVE_BALANCE);
      break;
    }
    rq_unlock(target);
  }
  busiest->active_balance = 0;
  rq_unlock_irq(busiest);
  return 0;
}

// SCHED_SOFTIRQ: rebalance this CPU's domains whose interval is due (all of them when kicked).
void run_rebalance_domains() {
  int cpu = raw_smp_processor_id();
  rq* rq = cpu_rq(cpu);
  bool kicked = rq->nohz_balance_kick.exchange(false);
  bool idle = rq->nr_running.load(std::memory_order_relaxed) == 0 || is_idle_task(rq->curr);
  u64 now = get_jiffies_64();
  u64 next = now + 64;
  for (sched_domain& sd : cpu_sched_domains(cpu)) {
    u64 interval = sd.min_interval * (idle ? 1 : sd.busy_factor);
    if (kicked || now >= sd.last_balance + interval) {
      load_balance(cpu, sd, idle ? CPU_IDLE : CPU_NOT_IDLE, false);
      sd.last_balance = now;
    }
    next = std::min(next, sd.last_balance + interval);
  }
  rq->next_balance = next;
}

}  // namespace

void count_migration(int src, int dst, migration_cause cause) {
  stat_add(migration_counts[cause], 1);
  if (cpu_to_node(src) != cpu_to_node(dst)) stat_add(cross_node_migrations, 1);
}

void trigger_load_balance(rq* rq) {
  // One look at the domains: a rebuild may publish a new set at any time.
  auto& domains = cpu_sched_domains(rq->cpu);
  if (domains.empty()) return;
  u64 now = get_jiffies_64();
  if (now >= rq->next_balance) raise_softirq(SCHED_SOFTIRQ);
  // nohz_balancer_kick(): idle CPUs have no tick; a CPU with work to spare, or one whose
  // sibling in its lowest domain is busy too, wakes one of them.
  bool sibling_busy = false;
  if (rq->cfs.nr_running == 1 && domains.size() > 1) {
    for (unsigned c : domains.front().span)
      if (static_cast<int>(c) != rq->cpu && cfs_load(static_cast<int>(c)) > 0) sibling_busy = true;
  }
  if (rq->cfs.nr_running >= 2 || sibling_busy) {
    cpumask idle = idle_cpus_mask.load() & domains.back().span;
    if (sibling_busy) idle = idle.andnot(domains.front().span);
    idle.clear(static_cast<unsigned>(rq->cpu));
    if (!idle.empty()) {
      int ilb = static_cast<int>(idle.first());
      struct rq* ilb_rq = cpu_rq(ilb);
      if (!ilb_rq->nohz_balance_kick.exchange(true)) send_ipi(ilb, IRQ_NOHZ_KICK);
    }
  }
}

void nohz_balance_kicked() {
  raise_softirq(SCHED_SOFTIRQ);
}

int newidle_balance(rq* this_rq) {
  int cpu = this_rq->cpu;
  if (!cpu_active(cpu)) return 0;
  // As sched_balance_newidle(): no CPU has a task waiting, so nothing can be pulled; skip the
  // scan of the other CPUs' run queues (remote cache lines).
  if (!rd_overloaded.load(std::memory_order_relaxed)) return 0;
  unsigned pulled = 0;
  for (sched_domain& sd : cpu_sched_domains(cpu)) {
    pulled += load_balance(cpu, sd, CPU_NEWLY_IDLE, true);
    if (pulled || this_rq->nr_running.load(std::memory_order_relaxed)) break;
  }
  return static_cast<int>(pulled);
}

void init_sched_fair_class() {
  open_softirq(SCHED_SOFTIRQ, run_rebalance_domains);
}

}  // namespace cpustop
