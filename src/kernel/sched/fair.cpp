// The fair class (kernel/sched/fair.c), CFS as it was through Linux 6.5: a red-black tree of
// entities ordered by vruntime, weights from the nice-to-weight table, slices from the latency
// target, START_DEBIT placement of new tasks and GENTLE_FAIR_SLEEPERS for wakeups. The running
// entity is kept out of the tree. (6.6 replaced this with EEVDF; CFS is the design of the kernels
// whose stopper this is (through 6.5), and simpler to reason about in tests.)
#include <algorithm>

#include "kernel/sched/sched.h"
#include "kernel/sched/topology.h"

namespace cpustop {

// The kernel's tables (kernel/sched/core.c): weight = 1024 / 1.25^nice, and 2^32 / weight.
const int sched_prio_to_weight[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,  1991,  1586,  1277,  1024,  820,   655,   526,   423,  335,  272,  215,
    172,   137,   110,   87,    70,    56,    45,    36,    29,    23,    18,   15,
};
const u32 sched_prio_to_wmult[40] = {
    48388,    59856,    76040,    92818,     118348,    147320,    184698,    229616,
    287308,   360437,   449829,   563644,    704093,    875809,    1099582,   1376151,
    1717300,  2157191,  2708050,  3363326,   4194304,   5237765,   6557202,   8165337,
    10153587, 12820798, 15790321, 19976592,  24970740,  31350126,  39045157,  49367440,
    61356676, 76695844, 95443717, 119304647, 148102320, 186737708, 238609294, 286331153,
};

// Unscaled defaults; update_sysctl_sched() multiplies them by 1 + ilog2(min(ncpus, 8)). Every
// CPU reads them lockless while a hotplug step rescales them.
std::atomic<unsigned> sysctl_sched_latency_ns{6000000};
std::atomic<unsigned> sysctl_sched_min_granularity_ns{750000};
std::atomic<unsigned> sysctl_sched_wakeup_granularity_ns{1000000};
static constexpr unsigned sched_nr_latency = 8;

void update_sysctl_sched(unsigned nr_cpus) {
  unsigned factor = 1;
  for (unsigned n = std::min(nr_cpus, 8u); n > 1; n >>= 1) factor++;
  sysctl_sched_latency_ns.store(6000000 * factor, std::memory_order_relaxed);
  sysctl_sched_min_granularity_ns.store(750000 * factor, std::memory_order_relaxed);
  sysctl_sched_wakeup_granularity_ns.store(1000000 * factor, std::memory_order_relaxed);
}

namespace {

inline u64 latency_ns() {
  return sysctl_sched_latency_ns.load(std::memory_order_relaxed);
}
inline u64 min_granularity_ns() {
  return sysctl_sched_min_granularity_ns.load(std::memory_order_relaxed);
}
inline u64 wakeup_granularity_ns() {
  return sysctl_sched_wakeup_granularity_ns.load(std::memory_order_relaxed);
}

inline task_struct* task_of(sched_entity* se) {
  return container_of(se, task_struct, se);
}

inline u64 calc_delta_fair(u64 delta, const sched_entity* se) {
  if (se->load.weight == NICE_0_LOAD) return delta;
  return static_cast<u64>((static_cast<unsigned __int128>(delta) * NICE_0_LOAD) / se->load.weight);
}

inline u64 max_vruntime(u64 a, u64 b) {
  return static_cast<s64>(b - a) > 0 ? b : a;
}
inline u64 min_vruntime(u64 a, u64 b) {
  return static_cast<s64>(b - a) < 0 ? b : a;
}

sched_entity* __pick_first_entity(cfs_rq* cfs) {
  return cfs->tasks_timeline.empty() ? nullptr : &*cfs->tasks_timeline.begin();
}

void update_min_vruntime(cfs_rq* cfs) {
  sched_entity* curr = cfs->curr;
  u64 vruntime = cfs->min_vruntime;
  if (curr && !curr->on_rq) curr = nullptr;
  if (curr) vruntime = curr->vruntime;
  if (sched_entity* left = __pick_first_entity(cfs))
    vruntime = curr ? min_vruntime(vruntime, left->vruntime) : left->vruntime;
  cfs->min_vruntime = max_vruntime(cfs->min_vruntime, vruntime);
  cfs->min_vruntime_copy.store(cfs->min_vruntime, std::memory_order_relaxed);
}

void update_curr(cfs_rq* cfs, rq* rq) {
  sched_entity* curr = cfs->curr;
  if (!curr) return;
  s64 delta = static_cast<s64>(rq->clock_task - curr->exec_start);
  if (delta <= 0) return;
  curr->exec_start = rq->clock_task;
  stat_add(curr->sum_exec_runtime, static_cast<u64>(delta));
  curr->vruntime += calc_delta_fair(static_cast<u64>(delta), curr);
  update_min_vruntime(cfs);
}

u64 sched_period(unsigned nr_running) {
  if (nr_running > sched_nr_latency) return static_cast<u64>(nr_running) * min_granularity_ns();
  return latency_ns();
}

u64 sched_slice(cfs_rq* cfs, sched_entity* se) {
  unsigned nr = cfs->nr_running + !se->on_rq;
  unsigned long total = cfs->load.weight + (se->on_rq ? 0 : se->load.weight);
  u64 slice = sched_period(nr);
  if (total)
    slice = static_cast<u64>(static_cast<unsigned __int128>(slice) * se->load.weight / total);
  return std::max<u64>(slice, min_granularity_ns());
}

void place_entity(cfs_rq* cfs, sched_entity* se, bool initial) {
  u64 vruntime = cfs->min_vruntime;
  if (initial)
    vruntime += calc_delta_fair(sched_slice(cfs, se), se);  // START_DEBIT
  else
    vruntime -= latency_ns() / 2;  // GENTLE_FAIR_SLEEPERS
  se->vruntime = max_vruntime(se->vruntime, vruntime);
}

void __enqueue_entity(cfs_rq* cfs, sched_entity* se) {
  cfs->tasks_timeline.insert(*se);
}
void __dequeue_entity(cfs_rq* cfs, sched_entity* se) {
  cfs->tasks_timeline.erase(cfs->tasks_timeline.iterator_to(*se));
}

void enqueue_entity(cfs_rq* cfs, rq* rq, sched_entity* se, int flags) {
  bool renorm = !(flags & ENQUEUE_WAKEUP) || (flags & ENQUEUE_MIGRATED);
  bool curr = cfs->curr == se;
  if (renorm && curr) se->vruntime += cfs->min_vruntime;
  update_curr(cfs, rq);
  if (renorm && !curr) se->vruntime += cfs->min_vruntime;
  cfs->load.weight += se->load.weight;
  ++cfs->nr_running;
  if (flags & ENQUEUE_INITIAL)
    place_entity(cfs, se, true);
  else if (flags & ENQUEUE_WAKEUP)
    place_entity(cfs, se, false);
  if (!curr) __enqueue_entity(cfs, se);
  se->on_rq = 1;
}

void dequeue_entity(cfs_rq* cfs, rq* rq, sched_entity* se, int flags) {
  update_curr(cfs, rq);
  if (cfs->skip == se) cfs->skip = nullptr;
  if (se != cfs->curr) __dequeue_entity(cfs, se);
  se->on_rq = 0;
  cfs->load.weight -= se->load.weight;
  --cfs->nr_running;
  if (!(flags & DEQUEUE_SLEEP)) se->vruntime -= cfs->min_vruntime;
  update_min_vruntime(cfs);
}

void enqueue_task_fair(rq* rq, task_struct* p, int flags) {
  enqueue_entity(&rq->cfs, rq, &p->se, flags);
  add_nr_running(rq, 1);
}

void dequeue_task_fair(rq* rq, task_struct* p, int flags) {
  dequeue_entity(&rq->cfs, rq, &p->se, flags);
  sub_nr_running(rq, 1);
}

// 1: curr should yield to se; 0: within the wakeup granularity; -1: se is not ahead.
int wakeup_preempt_entity(sched_entity* curr, sched_entity* se) {
  s64 vdiff = static_cast<s64>(curr->vruntime - se->vruntime);
  if (vdiff <= 0) return -1;
  return vdiff > static_cast<s64>(calc_delta_fair(wakeup_granularity_ns(), se)) ? 1 : 0;
}

void wakeup_preempt_fair(rq* rq, task_struct* p, int) {
  task_struct* curr = rq->curr;
  if (curr == p) return;
  // An idle-policy task yields to any normal one; batch and idle wakees never preempt.
  if (curr->policy == SCHED_IDLE && p->policy != SCHED_IDLE) {
    resched_curr(rq);
    return;
  }
  if (p->policy != SCHED_NORMAL) return;
  update_curr(&rq->cfs, rq);
  if (wakeup_preempt_entity(&curr->se, &p->se) == 1) resched_curr(rq);
}

void set_next_task_fair(rq* rq, task_struct* p, bool) {
  cfs_rq* cfs = &rq->cfs;
  sched_entity* se = &p->se;
  if (se->on_rq) __dequeue_entity(cfs, se);
  se->exec_start = rq->clock_task;
  cfs->curr = se;
  se->prev_sum_exec_runtime = stat_read(se->sum_exec_runtime);
}

sched_entity* pick_next_entity(cfs_rq* cfs) {
  sched_entity* left = __pick_first_entity(cfs);
  if (left && cfs->skip == left) {
    auto it = std::next(cfs->tasks_timeline.iterator_to(*left));
    if (it != cfs->tasks_timeline.end() && wakeup_preempt_entity(&*it, left) < 1) left = &*it;
  }
  cfs->skip = nullptr;
  return left;
}

task_struct* pick_next_task_fair(rq* rq, task_struct*) {
  cfs_rq* cfs = &rq->cfs;
  if (!cfs->nr_running) return nullptr;
  sched_entity* se = pick_next_entity(cfs);
  task_struct* p = task_of(se);
  set_next_task_fair(rq, p, true);
  return p;
}

void put_prev_task_fair(rq* rq, task_struct* prev) {
  cfs_rq* cfs = &rq->cfs;
  sched_entity* se = &prev->se;
  if (se->on_rq) {
    update_curr(cfs, rq);
    __enqueue_entity(cfs, se);
  }
  cfs->curr = nullptr;
}

void yield_task_fair(rq* rq) {
  cfs_rq* cfs = &rq->cfs;
  if (cfs->nr_running <= 1) return;
  update_curr(cfs, rq);
  cfs->skip = &rq->curr->se;
}

void task_tick_fair(rq* rq, task_struct* curr, int) {
  cfs_rq* cfs = &rq->cfs;
  sched_entity* se = &curr->se;
  update_curr(cfs, rq);
  if (cfs->nr_running <= 1) return;
  // check_preempt_tick: the slice is used up, or curr is a slice ahead of the leftmost.
  u64 ideal_runtime = sched_slice(cfs, se);
  u64 delta_exec = stat_read(se->sum_exec_runtime) - se->prev_sum_exec_runtime;
  if (delta_exec > ideal_runtime) {
    resched_curr(rq);
    return;
  }
  if (delta_exec < min_granularity_ns()) return;
  sched_entity* left = __pick_first_entity(cfs);
  if (!left) return;
  s64 delta = static_cast<s64>(se->vruntime - left->vruntime);
  if (delta > static_cast<s64>(ideal_runtime)) resched_curr(rq);
}

// Wake and fork placement (select_idle_sibling): the target if it is idle, else an idle CPU
// sharing its last-level cache; a new task may also take an idle CPU anywhere. Otherwise stay:
// spreading further is the balancer's job.
int select_task_rq_fair(task_struct* p, int prev_cpu, int wake_flags) {
  int this_cpu = raw_smp_processor_id();
  int target = (wake_flags & WF_FORK) && this_cpu >= 0 ? this_cpu : prev_cpu;
  if (cpumask_test_cpu(target, p->cpus_ptr) && idle_cpus_mask.test(target)) return target;
  cpumask idle = idle_cpus_mask.load() & *p->cpus_ptr;
  cpumask near = idle & cpu_llc_span(target);
  const cpumask& pick = !near.empty() || !(wake_flags & WF_FORK) ? near : idle;
  if (!pick.empty()) {
    // Start after target so that simultaneous wakeups spread instead of piling on one CPU.
    unsigned c = pick.next(static_cast<unsigned>(target) + 1);
    return static_cast<int>(c < NR_CPUS ? c : pick.first());
  }
  if (!cpumask_test_cpu(target, p->cpus_ptr)) target = prev_cpu;
  return target;
}

void migrate_task_rq_fair(task_struct* p, int) {
  // A waking task's vruntime is still absolute on its old queue: make it relative so that
  // the enqueue with ENQUEUE_MIGRATED re-bases it on the new one.
  if (task_state(p) == TASK_WAKING)
    p->se.vruntime -= task_rq(p)->cfs.min_vruntime_copy.load(std::memory_order_relaxed);
}

void task_fork_fair(task_struct* p) {
  p->se.vruntime = 0;
}

void switching_to_fair(rq* rq, task_struct* p) {
  // Entering the class: queued tasks get a relative vruntime (the enqueue adds min_vruntime),
  // sleeping ones an absolute one near the queue's.
  p->se.vruntime = task_on_rq_queued(p) ? 0 : rq->cfs.min_vruntime;
}

void prio_changed_fair(rq* rq, task_struct* p, int oldprio) {
  if (!task_on_rq_queued(p)) return;
  if (task_current(rq, p)) {
    if (p->prio > oldprio) resched_curr(rq);
  } else {
    wakeup_preempt(rq, p, 0);
  }
}

void update_curr_fair(rq* rq) {
  update_curr(&rq->cfs, rq);
}

// A fair task's slice of the period, while its queue has load.
unsigned get_rr_interval_fair(rq* rq, task_struct* p) {
  if (!rq->cfs.load.weight) return 0;
  return static_cast<unsigned>(sched_slice(&rq->cfs, &p->se) / TICK_NSEC);
}

}  // namespace

void init_cfs_rq(cfs_rq* cfs) {
  cfs->min_vruntime = static_cast<u64>(-(1LL << 20));
  cfs->min_vruntime_copy.store(cfs->min_vruntime, std::memory_order_relaxed);
}

namespace {

// The running task is not in the tree (set_next_task took it out).
task_struct* pick_task_fair(rq* rq) {
  if (rq->cfs.tasks_timeline.empty()) return nullptr;
  return container_of(&*rq->cfs.tasks_timeline.begin(), task_struct, se);
}

}  // namespace

const sched_class fair_sched_class = {
    .name = "fair",
    .enqueue_task = enqueue_task_fair,
    .dequeue_task = dequeue_task_fair,
    .yield_task = yield_task_fair,
    .wakeup_preempt = wakeup_preempt_fair,
    .pick_next_task = pick_next_task_fair,
    .put_prev_task = put_prev_task_fair,
    .set_next_task = set_next_task_fair,
    .select_task_rq = select_task_rq_fair,
    .task_tick = task_tick_fair,
    .task_fork = task_fork_fair,
    .switching_to = switching_to_fair,
    .switched_from = nullptr,
    .switched_to = nullptr,
    .prio_changed = prio_changed_fair,
    .update_curr = update_curr_fair,
    .migrate_task_rq = migrate_task_rq_fair,
    .pick_task = pick_task_fair,
    .get_rr_interval = get_rr_interval_fair,
};

}  // namespace cpustop
