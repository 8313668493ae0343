// The scheduler's private header (kernel/sched/sched.h): the per-CPU run queue, the sched_class
// ops table and the one place that defines the class order. task_struct is in kernel/task.h.
#pragma once

#include <boost/intrusive/set.hpp>

#include "arch/arch.h"
#include "cpustop/sched.h"
#include "cpustop/stop_machine.h"
#include "cpustop/wait.h"
#include "kernel/locking/spinlock.h"
#include "kernel/percpu.h"
#include "kernel/preempt.h"
#include "kernel/sched/stat.h"
#include "kernel/task.h"
#include "kernel/time/hrtimer.h"
#include "kernel/time/jiffies.h"
#include "lib/llist.h"

namespace cpustop {

// on_rq values.
enum : int { TASK_ON_RQ_QUEUED = 1, TASK_ON_RQ_MIGRATING = 2 };

// enqueue/dequeue flags and wake flags.
enum : int {
  DEQUEUE_SLEEP = 0x01,
  DEQUEUE_SAVE = 0x02,
  DEQUEUE_MOVE = 0x04,
  DEQUEUE_NOCLOCK = 0x08,
  ENQUEUE_WAKEUP = 0x01,
  ENQUEUE_RESTORE = 0x02,
  ENQUEUE_MOVE = 0x04,
  ENQUEUE_NOCLOCK = 0x08,
  ENQUEUE_HEAD = 0x10,
  ENQUEUE_MIGRATED = 0x40,
  ENQUEUE_INITIAL = 0x80,
};
enum : int { WF_EXEC = 0x02, WF_FORK = 0x04, WF_TTWU = 0x08, WF_SYNC = 0x10, WF_MIGRATED = 0x20 };

// ---- Run queues
// -----------------------------------------------------------------------------------

struct vruntime_less {
  bool operator()(const sched_entity& a, const sched_entity& b) const {
    return static_cast<s64>(a.vruntime - b.vruntime) < 0;
  }
};
using cfs_timeline = boost::intrusive::multiset<
    sched_entity,
    boost::intrusive::member_hook<sched_entity, boost::intrusive::set_member_hook<>,
                                  &sched_entity::run_node>,
    boost::intrusive::compare<vruntime_less>>;

struct cfs_rq {
  load_weight load{0, 0};
  locked_counter nr_running;
  u64 min_vruntime = 0;
  std::atomic<u64> min_vruntime_copy{0};  // for lockless readers on other CPUs
  cfs_timeline tasks_timeline;
  sched_entity* curr = nullptr;
  sched_entity* skip = nullptr;
};

struct rt_rq {
  u64 bitmap[2] = {0, 0};  // bit n: queue[n] not empty
  list_head queue[MAX_RT_PRIO];
  unsigned rt_nr_running = 0;
  // RT bandwidth (sched_rt_runtime_us of sched_rt_period_us): under rq->lock.
  u64 rt_time = 0;            // ns used in the current period
  bool rt_throttled = false;  // the class yields its CPU until the period ends
  bool period_active = false;
  hrtimer period_timer;
};

struct rq {
  raw_spinlock_t __lock;
  locked_counter nr_running;
  stat_u64 nr_switches{0};
  cfs_rq cfs;
  rt_rq rt;
  task_struct* curr = nullptr;
  task_struct* idle = nullptr;
  task_struct* stop = nullptr;
  u64 clock = 0;
  u64 clock_task = 0;  // clock less the host's steal: what tasks are charged by (rq_clock_task)
  int cpu = 0;
  llist_head wake_list;

  locked_counter nr_pinned;  // migrate-disabled tasks that belong to this CPU (its own writes)
  // Load balancing (balance.cpp), under __lock unless noted.
  int active_balance = 0;  // active_balance_work is queued; the stop function clears it
  int push_cpu = -1;
  cpu_stop_work active_balance_work;
  u64 next_balance = 0;  // jiffies; owner CPU only
  std::atomic<bool> nohz_balance_kick{false};
  u64 last_tick_jiffies = 0;  // the tick's accounting position
  // The host's steal clock as this CPU last read it (steal_sample(), its own thread only), when,
  // the steal not yet in cpustat, and the window that decides whether haltpoll may spin here.
  u64 prev_steal_time = 0, steal_sampled_at = 0, steal_unaccounted = 0;
  u64 steal_window = 0, steal_window_jiffies = 0;
  // Sampled steal not yet taken out of clock_task; any CPU holding __lock consumes it.
  std::atomic<u64> steal_task_pending{0};
  std::atomic<bool> steal_heavy{false};
  stat_u64 cpustat[NR_STATS] = {};
  stat_u64 nr_ttwu_remote{0};
  cpumask cpumask_of_cpu;  // this CPU alone: cpus_ptr of its migrate-disabled tasks
};

// The kernel's rd->overloaded for the one root domain: some CPU has more than one runnable task.
// Set by add_nr_running(), cleared by a balance pass over a top domain that saw none; a CPU about
// to go idle balances only while it is set (sched_balance_newidle()).
extern std::atomic<bool> rd_overloaded;
inline void add_nr_running(rq* rq, unsigned count) {
  unsigned prev = rq->nr_running;
  rq->nr_running += count;
  if (prev < 2 && prev + count >= 2 && !rd_overloaded.load(std::memory_order_relaxed))
    rd_overloaded.store(true, std::memory_order_relaxed);
}
inline void sub_nr_running(rq* rq, unsigned count) {
  rq->nr_running -= count;
}

extern rq* runqueues;
inline rq* cpu_rq(int cpu) {
  return &runqueues[cpu];
}
inline rq* this_rq() {
  return cpu_rq(raw_smp_processor_id());
}
inline rq* task_rq(const task_struct* p) {
  return cpu_rq(task_cpu(p));
}
inline bool task_current(rq* rq, const task_struct* p) {
  return rq->curr == p;
}
inline bool task_on_rq_queued(const task_struct* p) {
  return p->on_rq.load(std::memory_order_relaxed) == TASK_ON_RQ_QUEUED;
}
inline bool task_on_rq_migrating(const task_struct* p) {
  return p->on_rq.load(std::memory_order_relaxed) == TASK_ON_RQ_MIGRATING;
}
inline bool task_on_cpu(const task_struct* p) {
  return p->on_cpu.load(std::memory_order_acquire) != 0;
}

inline void rq_lock(rq* rq) {
  __raw_spin_lock(&rq->__lock);
}
inline void rq_unlock(rq* rq) {
  __raw_spin_unlock(&rq->__lock);
}
inline void rq_lock_irq(rq* rq, thread_info* ti) {
  __raw_spin_lock_irq(&rq->__lock, ti);
}
inline void rq_unlock_irq(rq* rq, thread_info* ti) {
  __raw_spin_unlock_irq(&rq->__lock, ti);
}
inline void rq_lock_irq(rq* rq) {
  __raw_spin_lock_irq(&rq->__lock);
}
inline void rq_unlock_irq(rq* rq) {
  __raw_spin_unlock_irq(&rq->__lock);
}
inline void lockdep_assert_rq_held(rq* rq) {
  lockdep_assert_held(&rq->__lock);
}

struct rq_flags {
  unsigned long flags;
};
// Locks p->pi_lock and p's run queue, retrying while p moves (kernel: task_rq_lock).
rq* task_rq_lock(task_struct* p, rq_flags* rf);
void task_rq_unlock(rq* rq, task_struct* p, rq_flags* rf);
// Locks two run queues in ascending CPU order.
void double_rq_lock(rq* a, rq* b);
void double_rq_unlock(rq* a, rq* b);

void update_rq_clock(rq* rq);

// ---- Scheduling classes
// ---------------------------------------------------------------------------

struct sched_class {
  const char* name;
  void (*enqueue_task)(rq* rq, task_struct* p, int flags);
  void (*dequeue_task)(rq* rq, task_struct* p, int flags);
  void (*yield_task)(rq* rq);
  void (*wakeup_preempt)(rq* rq, task_struct* p, int flags);
  // Picks the next task of this class (and makes it the class's current), or nullptr.
  task_struct* (*pick_next_task)(rq* rq, task_struct* prev);
  void (*put_prev_task)(rq* rq, task_struct* p);
  void (*set_next_task)(rq* rq, task_struct* p, bool first);
  int (*select_task_rq)(task_struct* p, int prev_cpu, int wake_flags);
  void (*task_tick)(rq* rq, task_struct* p, int queued);
  void (*task_fork)(task_struct* p);
  // Called before p is enqueued into this class after a class change.
  void (*switching_to)(rq* rq, task_struct* p);
  void (*switched_from)(rq* rq, task_struct* p);
  void (*switched_to)(rq* rq, task_struct* p);
  void (*prio_changed)(rq* rq, task_struct* p, int oldprio);
  void (*update_curr)(rq* rq);
  void (*migrate_task_rq)(task_struct* p, int new_cpu);
  // A queued task of this class other than rq->curr, without making it current (the kernel's
  // pick_task); nullptr if none. rq->lock held. Hotplug's migrate_tasks() drains a CPU with it.
  task_struct* (*pick_task)(rq* rq);
  // p's time slice in ticks, for sched_rr_get_interval(); nullptr: 0 (no slice).
  unsigned (*get_rr_interval)(rq* rq, task_struct* p);
};

extern const sched_class stop_sched_class;
extern const sched_class rt_sched_class;
extern const sched_class fair_sched_class;
extern const sched_class idle_sched_class;

// The class order, highest first. This array is the only place that defines it; pick_next_task
// walks it from the top and sched_class_above() compares positions in it.
inline constexpr const sched_class* sched_classes[] = {
    &stop_sched_class,
    &rt_sched_class,
    &fair_sched_class,
    &idle_sched_class,
};
#define for_each_class(cls) for (const ::cpustop::sched_class* cls : ::cpustop::sched_classes)

inline int sched_class_rank(const sched_class* c) {
  int i = 0;
  for (const sched_class* k : sched_classes) {
    if (k == c) return i;
    i++;
  }
  return i;
}
inline bool sched_class_above(const sched_class* a, const sched_class* b) {
  return sched_class_rank(a) < sched_class_rank(b);
}

// ---- Core scheduler entry points (core.cpp)
// --------------------------------------------------------

extern const int sched_prio_to_weight[40];
extern const u32 sched_prio_to_wmult[40];

// sched_yield(): yield_task and the switch under one rq->lock; ti is current_thread_info().
void schedule_yield(thread_info* ti);
// Called by the idle loop when need_resched is set.
void schedule_idle();

int try_to_wake_up(task_struct* p, unsigned state, int wake_flags);
int wake_up_process(task_struct* p);
void resched_curr(rq* rq);
void wakeup_preempt(rq* rq, task_struct* p, int flags);
void activate_task(rq* rq, task_struct* p, int flags);
void deactivate_task(rq* rq, task_struct* p, int flags);
void enqueue_task(rq* rq, task_struct* p, int flags);
void dequeue_task(rq* rq, task_struct* p, int flags);
void set_task_cpu(task_struct* p, int new_cpu);
inline void __set_task_cpu(task_struct* p, int cpu) {
  p->thread_info.cpu.store(cpu, std::memory_order_relaxed);
  p->wake_cpu = cpu;
}
void sched_ttwu_pending();
int select_task_rq(task_struct* p, int cpu, int wake_flags);
void sched_tick_account(rq* rq, task_struct* curr, u64 now_jiffies);
void set_load_weight(task_struct* p);
int __sched_setscheduler(task_struct* p, int policy, int prio, int nice, bool user);

// Class internals used by core.cpp.
void init_cfs_rq(cfs_rq* cfs);
extern atomic_cpumask idle_cpus_mask;
// Called by __schedule under rq->lock when the CPU enters or leaves its idle task.
void idle_transition(int cpu, bool to_idle);
// Affinity helpers (migrate.cpp).
bool is_cpu_allowed(task_struct* p, int cpu);
int select_fallback_rq(int cpu, task_struct* p);
int set_cpus_allowed_ptr(task_struct* p, const cpumask& new_mask);
rq* move_queued_task(rq* rq, task_struct* p, int new_cpu);
int migration_cpu_stop(void* data);
void migrate_disable_switch(rq* rq, task_struct* p);
void migrate_init();
void trigger_load_balance(rq* rq);
// A CPU about to go idle pulls work (with rq->lock held; may drop and retake it). Returns the
// number of tasks pulled.
int newidle_balance(rq* rq);
void init_sched_fair_class();
// Where migrations come from, for /proc-style statistics and the demo's diagnosis.
enum migration_cause {
  MIG_WAKEUP,
  MIG_AFFINITY,
  MIG_BALANCE,
  MIG_ACTIVE_BALANCE,
  MIG_HOTPLUG,
  NR_MIG_CAUSES
};
extern stat_u64 migration_counts[NR_MIG_CAUSES];
extern stat_u64 cross_node_migrations;
void count_migration(int src, int dst, migration_cause cause);
// Switches into a task outside its allowed CPUs with no migration pending (must stay 0).
extern stat_u64 affinity_violations;
void init_rt_bandwidth();  // the defaults again, at every boot
void init_rt_rq(rt_rq* rt, int cpu);
void exit_rt_rq(rt_rq* rt);
void update_curr_fair_tick(rq* rq);
extern std::atomic<unsigned> sysctl_sched_latency_ns;
extern std::atomic<unsigned> sysctl_sched_min_granularity_ns;
extern std::atomic<unsigned> sysctl_sched_wakeup_granularity_ns;
// The CFS latency target and granularities for nr_cpus active CPUs, 1 + ilog2(min(nr_cpus, 8))
// times the defaults: the kernel's update_sysctl(), which rq_online_fair/rq_offline_fair run on
// every activation and (through the domain rebuild) deactivation. A sleeper's wakeup credit is
// half the latency, so keeping an 8-CPU value on one remaining CPU would quadruple how long a
// herd of short sleepers keeps a running task off it.
void update_sysctl_sched(unsigned nr_cpus);
inline constexpr unsigned RR_TIMESLICE_MS = 100;
extern unsigned sched_rr_timeslice;  // in ticks

}  // namespace cpustop
