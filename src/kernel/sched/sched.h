// The scheduler's private header (kernel/sched/sched.h): task_struct, the per-CPU run queue,
// the sched_class ops table and the one place that defines the class order.
#pragma once

#include <boost/intrusive/set.hpp>

#include "arch/arch.h"
#include "cpustop/sched.h"
#include "cpustop/stop_machine.h"
#include "cpustop/wait.h"
#include "kernel/locking/spinlock.h"
#include "kernel/percpu.h"
#include "kernel/preempt.h"
#include "kernel/time/hrtimer.h"
#include "lib/llist.h"

namespace cpustop {

// ---- Task state (the kernel's bits) -----------------------------------------------------------

enum : unsigned {
  TASK_RUNNING = 0x0000,
  TASK_INTERRUPTIBLE = 0x0001,
  TASK_UNINTERRUPTIBLE = 0x0002,
  EXIT_DEAD = 0x0010,
  EXIT_ZOMBIE = 0x0020,
  TASK_PARKED = 0x0040,
  TASK_DEAD = 0x0080,
  TASK_WAKING = 0x0200,
  TASK_NOLOAD = 0x0400,
  TASK_NEW = 0x0800,
  TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD,
  TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE,
};

// Task flags.
enum : unsigned {
  PF_IDLE = 0x00000002,
  PF_EXITING = 0x00000004,
  PF_KTHREAD = 0x00200000,
  PF_NO_SETAFFINITY = 0x04000000,
};

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

inline constexpr int MAX_PRIO = MAX_RT_PRIO + 40;
inline constexpr int DEFAULT_PRIO = MAX_RT_PRIO + 20;
inline constexpr int NICE_TO_PRIO(int nice) {
  return nice + DEFAULT_PRIO;
}
inline constexpr int PRIO_TO_NICE(int prio) {
  return prio - DEFAULT_PRIO;
}
inline constexpr unsigned long NICE_0_LOAD = 1024;
inline constexpr u64 NSEC_PER_SEC = 1000000000ull;
inline constexpr u64 NSEC_PER_MSEC = 1000000ull;
inline constexpr u64 NSEC_PER_USEC = 1000ull;
inline constexpr std::size_t THREAD_SIZE = 64 * 1024;
inline constexpr std::size_t MIN_THREAD_SIZE = 16 * 1024;

// ---- Scheduling entities ------------------------------------------------------------------------

struct load_weight {
  unsigned long weight = NICE_0_LOAD;
  u32 inv_weight = 0;
};

// A count changed only under a lock and read locklessly elsewhere: relaxed loads and stores,
// never a locked read-modify-write.
class locked_counter {
 public:
  unsigned load(std::memory_order o = std::memory_order_relaxed) const { return v_.load(o); }
  operator unsigned() const { return load(); }
  locked_counter& operator+=(unsigned n) {
    v_.store(load() + n, std::memory_order_relaxed);
    return *this;
  }
  locked_counter& operator-=(unsigned n) {
    v_.store(load() - n, std::memory_order_relaxed);
    return *this;
  }
  locked_counter& operator++() { return *this += 1; }
  locked_counter& operator--() { return *this -= 1; }

 private:
  std::atomic<unsigned> v_{0};
};

// Relaxed single-writer counters that /proc reads from other CPUs.
using stat_u64 = std::atomic<u64>;
inline void stat_add(stat_u64& s, u64 v) {
  s.store(s.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
inline u64 stat_read(const stat_u64& s) {
  return s.load(std::memory_order_relaxed);
}

struct sched_entity {
  load_weight load;
  boost::intrusive::set_member_hook<> run_node;
  unsigned on_rq = 0;
  u64 exec_start = 0;
  stat_u64 sum_exec_runtime{0};
  u64 prev_sum_exec_runtime = 0;
  u64 vruntime = 0;
  stat_u64 nr_migrations{0};
};

struct sched_rt_entity {
  list_head run_list;
  unsigned int time_slice = 0;
  unsigned short on_rq = 0;
};

struct sched_class;
struct set_affinity_pending;
struct kthread;

// ---- task_struct --------------------------------------------------------------------------------

struct task_struct {
  struct thread_info thread_info;  // first: the thread slot points here
  std::atomic<unsigned> __state{TASK_NEW};
  unsigned flags = 0;
  std::atomic<int> on_rq{0};
  std::atomic<int> on_cpu{0};
  int wake_cpu = 0;

  int prio = DEFAULT_PRIO, static_prio = DEFAULT_PRIO, normal_prio = DEFAULT_PRIO;
  unsigned rt_priority = 0;
  int policy = SCHED_NORMAL;
  const ::cpustop::sched_class* sched_class = nullptr;
  sched_entity se;
  sched_rt_entity rt;

  cpumask cpus_mask;
  const cpumask* cpus_ptr = &cpus_mask;
  int nr_cpus_allowed = 0;
  // Written only by the task itself; read remotely (under rq->lock) as the kernel does.
  std::atomic<unsigned short> migration_disabled{0};
  set_affinity_pending* migration_pending = nullptr;

  raw_spinlock_t pi_lock;
  llist_node wake_entry;

  pid_t pid = 0;
  char comm[TASK_COMM_LEN] = {};
  std::atomic<int> usage{1};
  std::atomic<int> exit_state{0};
  int exit_code = 0;
  bool detached = false;
  std::atomic<bool> join_claimed{false};
  wait_queue_head exit_wait;

  // What the task runs: a callable placed on its stack, or a plain function.
  detail::invoke_fn invoke = nullptr;
  void* fn_obj = nullptr;
  int (*threadfn)(void*) = nullptr;
  void* threadfn_data = nullptr;

  arch::context ctx;
  arch::stack stack;
  bool stack_pooled = false;

  // Accounting: jiffies by tick sampling, exact nanoseconds from the run-queue clock.
  stat_u64 utime{0}, stime{0};
  stat_u64 nvcsw{0}, nivcsw{0};
  u64 start_time = 0;
  bool in_kernel = false;  // samples as system time while set

  kthread* kthread_data = nullptr;
};

inline thread_info* task_thread_info(task_struct* p) {
  return &p->thread_info;
}
inline int task_cpu(const task_struct* p) {
  return p->thread_info.cpu.load(std::memory_order_relaxed);
}
inline bool task_on_rq_queued(const task_struct* p) {
  return p->on_rq.load(std::memory_order_relaxed) == TASK_ON_RQ_QUEUED;
}
inline bool task_on_rq_migrating(const task_struct* p) {
  return p->on_rq.load(std::memory_order_relaxed) == TASK_ON_RQ_MIGRATING;
}
inline unsigned task_state(const task_struct* p) {
  return p->__state.load(std::memory_order_relaxed);
}
inline bool is_idle_task(const task_struct* p) {
  return p->flags & PF_IDLE;
}
inline bool is_percpu_thread(const task_struct* p) {
  return (p->flags & PF_KTHREAD) && p->nr_cpus_allowed == 1;
}
inline int task_nice_of(const task_struct* p) {
  return PRIO_TO_NICE(p->static_prio);
}

// The one transition function for a task's state: asserts that the move is legal.
void set_task_state(task_struct* p, unsigned state);
inline void set_current_state(unsigned state) {
  set_task_state(get_current(), state);
}
inline void __set_current_state(unsigned state) {
  set_task_state(get_current(), state);
}

inline void get_task_struct(task_struct* p) {
  p->usage.fetch_add(1, std::memory_order_relaxed);
}
void __put_task_struct(task_struct* p);
inline void put_task_struct(task_struct* p) {
  if (p->usage.fetch_sub(1, std::memory_order_acq_rel) == 1) __put_task_struct(p);
}

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

enum cpu_usage_stat {
  CPUTIME_USER,
  CPUTIME_NICE,
  CPUTIME_SYSTEM,
  CPUTIME_SOFTIRQ,
  CPUTIME_IRQ,
  CPUTIME_IDLE,
  CPUTIME_IOWAIT,
  CPUTIME_STEAL,
  CPUTIME_GUEST,
  CPUTIME_GUEST_NICE,
  NR_STATS,
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
  stat_u64 cpustat[NR_STATS] = {};
  stat_u64 nr_ttwu_remote{0};
};

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
inline bool task_on_cpu(const task_struct* p) {
  return p->on_cpu.load(std::memory_order_acquire) != 0;
}

inline void rq_lock(rq* rq) {
  __raw_spin_lock(&rq->__lock);
}
inline void rq_unlock(rq* rq) {
  __raw_spin_unlock(&rq->__lock);
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

inline bool rt_policy(int policy) {
  return policy == SCHED_FIFO || policy == SCHED_RR;
}
inline bool fair_policy(int policy) {
  return policy == SCHED_NORMAL || policy == SCHED_BATCH || policy == SCHED_IDLE;
}
inline bool valid_policy(int policy) {
  return rt_policy(policy) || fair_policy(policy);
}
inline bool rt_prio(int prio) {
  return prio < MAX_RT_PRIO;
}

// ---- Core scheduler entry points (core.cpp)
// --------------------------------------------------------

extern const int sched_prio_to_weight[40];
extern const u32 sched_prio_to_wmult[40];

void sched_init();
void sched_exit();
void schedule();
void schedule_preempt_disabled();
// sched_yield(): yield_task and the switch under one rq->lock.
void schedule_yield();
// Called by the idle loop when need_resched is set.
void schedule_idle();
// The last schedule of an exiting task; never returns.
[[noreturn]] void do_task_dead();
// Entry of every new task: finishes the switch that started it.
void schedule_tail(task_struct* prev);

int try_to_wake_up(task_struct* p, unsigned state, int wake_flags);
int wake_up_process(task_struct* p);
int wake_up_state(task_struct* p, unsigned state);
void wake_up_new_task(task_struct* p);
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
void scheduler_tick();
void sched_tick_account(rq* rq, task_struct* curr, u64 now_jiffies);
void set_load_weight(task_struct* p);
int __sched_setscheduler(task_struct* p, int policy, int prio, int nice, bool user);
void sched_set_stop_task(int cpu, task_struct* stop);
void sched_fork_init(task_struct* p, const task_attr& attr, bool kthread);
void init_idle(task_struct* idle, int cpu);
void sched_cpu_starting(int cpu);

// Class internals used by core.cpp.
void init_cfs_rq(cfs_rq* cfs);
extern atomic_cpumask idle_cpus_mask;
// Called by __schedule under rq->lock when the CPU enters or leaves its idle task.
void idle_transition(int cpu, bool to_idle);
// The idle loop of a CPU; returns when the CPU went offline or the machine halts.
void cpu_idle_loop();
extern u64 idle_spin_ns;
// Affinity helpers (migrate.cpp).
bool is_cpu_allowed(task_struct* p, int cpu);
int select_fallback_rq(int cpu, task_struct* p);
int set_cpus_allowed_ptr(task_struct* p, const cpumask& new_mask);
rq* move_queued_task(rq* rq, task_struct* p, int new_cpu);
int migration_cpu_stop(void* data);
void migrate_disable_switch(rq* rq, task_struct* p);
void migrate_init();
// CPU hotplug: vacate a dying CPU (from take_cpu_down, every other CPU stopped).
int sched_cpu_dying(unsigned cpu);
void trigger_load_balance(rq* rq);
// A CPU about to go idle pulls work (with rq->lock held; may drop and retake it). Returns the
// number of tasks pulled.
int newidle_balance(rq* rq);
void init_sched_fair_class();
// An idle CPU got IRQ_NOHZ_KICK: balance on the way out of the interrupt.
void nohz_balance_kicked();
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
extern stat_u64 hotplug_offline_count, hotplug_online_count;
void init_rt_rq(rt_rq* rt, int cpu);
void exit_rt_rq(rt_rq* rt);
// RT throttling: the kernel's defaults, 950 ms of every 1 s.
extern u64 sysctl_sched_rt_period_ns, sysctl_sched_rt_runtime_ns;
void update_curr_fair_tick(rq* rq);
extern unsigned sysctl_sched_latency_ns;
extern unsigned sysctl_sched_min_granularity_ns;
extern unsigned sysctl_sched_wakeup_granularity_ns;
void update_sysctl_sched(unsigned nr_cpus);
inline constexpr unsigned RR_TIMESLICE_MS = 100;
extern unsigned sched_rr_timeslice;  // in ticks

// Tick rate and jiffies (derived from local_clock()).
extern unsigned HZ;
extern u64 TICK_NSEC;
extern u64 boot_clock;
inline u64 get_jiffies_64() {
  return (arch::local_clock() - boot_clock) / TICK_NSEC;
}

}  // namespace cpustop
