// task_struct and what every kernel layer may know of a task (the kernel's include/linux/sched.h):
// its state bits, flags, priorities and scheduling entities. The run queues and classes stay
// private to kernel/sched/.
#pragma once

#include <boost/intrusive/set.hpp>

#include "arch/arch.h"
#include "cpustop/kthread.h"
#include "cpustop/sched.h"
#include "cpustop/wait.h"
#include "kernel/locking/spinlock.h"
#include "kernel/percpu.h"
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

// Policies and priorities (linux/sched/rt.h).
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

  // Signals marked pending by kill() (bit n-1 for signal n), taken by flush_signals().
  std::atomic<std::uint64_t> pending_signals{0};

  // Last: it has room for NR_CPUS bits, but only its first words are used (as many as the boot
  // has CPUs), so the fields above keep their cache lines.
  cpumask cpus_mask;
};

inline thread_info* task_thread_info(task_struct* p) {
  return &p->thread_info;
}
inline int task_cpu(const task_struct* p) {
  return p->thread_info.cpu.load(std::memory_order_relaxed);
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
// For a state that no ordinary wakeup may undo (TASK_PARKED): the store is serialised against
// try_to_wake_up() by pi_lock, so that a wakeup already past its state check cannot overwrite it
// with TASK_WAKING or TASK_RUNNING (the kernel's set_special_state()).
inline void set_special_state(unsigned state) {
  task_struct* p = get_current();
  unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
  set_task_state(p, state);
  __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
}

// ---- The state letter of ps, /proc/N/stat and sched_switch's prev_state --------------------

// The kernel's task_state_index(): the reported bits (TASK_REPORT) of state and exit_state, with
// TASK_IDLE as its own index after them. Index i is the letter "RSDTtXZPI"[i].
inline constexpr unsigned TASK_REPORT = TASK_RUNNING | TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE |
                                        0x0004 /* __TASK_STOPPED */ | 0x0008 /* __TASK_TRACED */ |
                                        EXIT_DEAD | EXIT_ZOMBIE | TASK_PARKED;
inline constexpr unsigned TASK_REPORT_IDLE = TASK_REPORT + 1;
inline constexpr unsigned __task_state_index(unsigned state, unsigned exit_state) {
  unsigned s = (state | exit_state) & TASK_REPORT;
  if (state == TASK_IDLE) s = TASK_REPORT_IDLE;
  return s ? 32u - static_cast<unsigned>(__builtin_clz(s)) : 0u;  // fls()
}
inline constexpr char task_index_to_char(unsigned index) {
  constexpr char state_char[] = "RSDTtXZPI";
  return index < sizeof(state_char) - 1 ? state_char[index] : '?';
}
inline unsigned task_state_index(const task_struct* p) {
  return __task_state_index(p->__state.load(std::memory_order_relaxed),
                            static_cast<unsigned>(p->exit_state.load(std::memory_order_relaxed)));
}
inline char task_state_to_char(const task_struct* p) {
  return task_index_to_char(task_state_index(p));
}

inline bool task_is_running(const task_struct* p) {
  return task_state(p) == TASK_RUNNING;
}

// An interruptible sleep ends early with -EINTR while this is true (kernel/signal.c).
inline bool signal_pending(const task_struct* p) {
  return p->pending_signals.load(std::memory_order_seq_cst) != 0;
}

// ---- The scheduler's entry points for the rest of the kernel ----------------------------------
// (the kernel's include/linux/sched.h, linux/sched/task.h and linux/sched/init.h). The run queues
// behind them are private to kernel/sched/.

void sched_init();
void sched_exit();
void schedule();
void schedule_preempt_disabled();
// The last schedule of an exiting task; never returns.
[[noreturn]] void do_task_dead();
// Entry of every new task: finishes the switch that started it.
void schedule_tail(task_struct* prev);
int wake_up_process(task_struct* p);
int wake_up_state(task_struct* p, unsigned state);
void wake_up_new_task(task_struct* p);
void sched_fork_init(task_struct* p, const task_attr& attr, bool kthread);
void init_idle(task_struct* idle, int cpu);
// Makes stop the stopper of cpu (the stop class; SCHED_FIFO 99 to the world); nullptr hands the
// previous one back to the rt class.
void sched_set_stop_task(int cpu, task_struct* stop);
// The tick's scheduler work on this CPU (accounting, time slices, load balance), hardirq.
void scheduler_tick();
// IRQ_RESCHEDULE: queue the wakeups other CPUs left for this one, hardirq.
void scheduler_ipi();
// IRQ_NOHZ_KICK: an idle CPU was asked to balance for the others.
void nohz_balance_kicked();
// Waits until p is off its CPU and not queued, in state match_state. Returns false if p
// changed state meanwhile.
bool wait_task_inactive(task_struct* p, unsigned match_state);

inline void get_task_struct(task_struct* p) {
  p->usage.fetch_add(1, std::memory_order_relaxed);
}
void __put_task_struct(task_struct* p);
inline void put_task_struct(task_struct* p) {
  if (p->usage.fetch_sub(1, std::memory_order_acq_rel) == 1) __put_task_struct(p);
}

}  // namespace cpustop
