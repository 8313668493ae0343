// The core scheduler (kernel/sched/core.c): __schedule(), pick_next_task(), the context switch,
// try_to_wake_up() with remote wake lists, wakeup preemption and the scheduler tick.
#include <algorithm>
#include "kernel/bug.h"
#include "kernel/fork.h"
#include "kernel/irq.h"
#include "kernel/printk.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/wait.h"
#include "trace/events.h"

namespace cpustop {

rq* runqueues;
stat_u64 affinity_violations;
unsigned HZ = 1000;
u64 TICK_NSEC = NSEC_PER_SEC / 1000;
u64 boot_clock;

// ---- Task state: the one transition function ---------------------------------------------------

namespace {

bool sleeping_state(unsigned s) {
  return s == TASK_INTERRUPTIBLE || s == TASK_UNINTERRUPTIBLE || s == TASK_IDLE || s == TASK_PARKED;
}

[[maybe_unused]] bool legal_transition(unsigned from, unsigned to) {
  if (from == TASK_DEAD) return false;
  switch (to) {
    case TASK_RUNNING:
      return from == TASK_NEW || from == TASK_WAKING || from == TASK_RUNNING ||
             sleeping_state(from);
    case TASK_WAKING:
      return sleeping_state(from);
    case TASK_DEAD:
      return from == TASK_RUNNING;
    default:
      return sleeping_state(to) && (from == TASK_RUNNING || sleeping_state(from));
  }
}

}  // namespace

void set_task_state(task_struct* p, unsigned state) {
#if defined(CPUSTOP_LOCKDEP) || !defined(NDEBUG)
  unsigned old = task_state(p);
  if (unlikely(!legal_transition(old, state)))
    panic("illegal task state transition 0x%x -> 0x%x for %s/%d", old, state, p->comm, p->pid);
#endif
  // A full barrier between the store and the caller's next load, as set_current_state()'s
  // smp_store_mb(): a waker that changes the condition and then reads the state cannot miss us.
  p->__state.store(state, std::memory_order_seq_cst);
}

// ---- Run-queue locking ----------------------------------------------------------------------

rq* task_rq_lock(task_struct* p, rq_flags* rf) {
  for (;;) {
    rf->flags = __raw_spin_lock_irqsave(&p->pi_lock);
    rq* rq = task_rq(p);
    rq_lock(rq);
    if (likely(rq == task_rq(p) && !task_on_rq_migrating(p))) return rq;
    rq_unlock(rq);
    __raw_spin_unlock_irqrestore(&p->pi_lock, rf->flags);
    cond_wait(&p->on_rq, [p] { return !task_on_rq_migrating(p); });
  }
}

void task_rq_unlock(rq* rq, task_struct* p, rq_flags* rf) {
  rq_unlock(rq);
  __raw_spin_unlock_irqrestore(&p->pi_lock, rf->flags);
}

// With p->pi_lock held: lock p's run queue.
static rq* __task_rq_lock(task_struct* p) {
  for (;;) {
    rq* rq = task_rq(p);
    rq_lock(rq);
    if (likely(rq == task_rq(p) && !task_on_rq_migrating(p))) return rq;
    rq_unlock(rq);
    cond_wait(&p->on_rq, [p] { return !task_on_rq_migrating(p); });
  }
}

void double_rq_lock(rq* a, rq* b) {
  if (a == b) {
    rq_lock(a);
    return;
  }
  if (a->cpu > b->cpu) std::swap(a, b);
  rq_lock(a);
  rq_lock(b);
}

void double_rq_unlock(rq* a, rq* b) {
  rq_unlock(a);
  if (a != b) rq_unlock(b);
}

// steal_sample(): what the host's steal clock added since this CPU's last read. Only the CPU's
// own thread may call it (the steal clock is per OS thread), and it costs a system call.
static void steal_sample(rq* rq, u64 now) {
  u64 steal = arch::steal_clock();
  u64 delta = steal - rq->prev_steal_time;
  bool first = rq->steal_sampled_at == 0;
  rq->prev_steal_time = steal;
  rq->steal_sampled_at = now;
  if (first) return;  // before the first read: the thread's whole life, not the machine's
  rq->steal_unaccounted += delta;
  rq->steal_window += delta;
  rq->steal_task_pending.fetch_add(delta, std::memory_order_relaxed);
}

// The clock, and clock_task advanced by the same delta less the sampled steal (the kernel's
// update_rq_clock_task() with paravirt steal). A long delta on this CPU while a task runs is
// sampled first: a task the host kept off its hardware CPU for milliseconds would otherwise be
// charged them, in its vruntime and its RT runtime.
void update_rq_clock(rq* rq) {
  const u64 steal_check_ns = TICK_NSEC / 2;
  u64 now = arch::local_clock();
  s64 delta = static_cast<s64>(now - rq->clock);
  if (delta <= 0) return;
  rq->clock = now;
  // Only the CPU's own thread reads its steal clock (and steal_sampled_at, which its tick writes
  // unlocked); a remote CPU's update takes out what was sampled.
  if (rq->cpu == raw_smp_processor_id() && static_cast<u64>(delta) > steal_check_ns &&
      now - rq->steal_sampled_at > steal_check_ns && rq->curr != rq->idle)
    steal_sample(rq, now);
  if (u64 steal = rq->steal_task_pending.load(std::memory_order_relaxed)) {
    steal = std::min(steal, static_cast<u64>(delta));
    rq->steal_task_pending.fetch_sub(steal, std::memory_order_relaxed);
    delta -= static_cast<s64>(steal);
  }
  rq->clock_task += static_cast<u64>(delta);
}

// ---- Enqueue / dequeue ------------------------------------------------------------------------

void enqueue_task(rq* rq, task_struct* p, int flags) {
  if (!(flags & ENQUEUE_NOCLOCK)) update_rq_clock(rq);
  p->sched_class->enqueue_task(rq, p, flags);
}

void dequeue_task(rq* rq, task_struct* p, int flags) {
  if (!(flags & DEQUEUE_NOCLOCK)) update_rq_clock(rq);
  p->sched_class->dequeue_task(rq, p, flags);
}

void activate_task(rq* rq, task_struct* p, int flags) {
  enqueue_task(rq, p, flags);
  p->on_rq.store(TASK_ON_RQ_QUEUED, std::memory_order_release);
}

void deactivate_task(rq* rq, task_struct* p, int flags) {
  p->on_rq.store((flags & DEQUEUE_SLEEP) ? 0 : TASK_ON_RQ_MIGRATING, std::memory_order_release);
  dequeue_task(rq, p, flags);
}

void set_task_cpu(task_struct* p, int new_cpu) {
  trace_sched_migrate_task(p, new_cpu);
  if (task_cpu(p) != new_cpu) {
    if (p->sched_class->migrate_task_rq) p->sched_class->migrate_task_rq(p, new_cpu);
    stat_add(p->se.nr_migrations, 1);
  }
  __set_task_cpu(p, new_cpu);
}

// ---- Preemption --------------------------------------------------------------------------------

void resched_curr(rq* rq) {
  cpu_hot* h = per_cpu_hot(rq->cpu);
  if (h->need_resched.load(std::memory_order_relaxed)) return;
  h->need_resched.store(1, std::memory_order_seq_cst);
  if (rq->cpu != raw_smp_processor_id()) smp_send_reschedule(rq->cpu);
}

void wakeup_preempt(rq* rq, task_struct* p, int flags) {
  task_struct* curr = rq->curr;
  if (p->sched_class == curr->sched_class)
    curr->sched_class->wakeup_preempt(rq, p, flags);
  else if (sched_class_above(p->sched_class, curr->sched_class))
    resched_curr(rq);
}

// ---- Picking and switching ----------------------------------------------------------------------

// The seed's loop: put prev back, then ask each class from the highest for a task.
static task_struct* pick_next_task(rq* rq, task_struct* prev) {
  prev->sched_class->put_prev_task(rq, prev);
  // The kernel's shortcut: when every runnable task is fair, no class above fair has one.
  if (likely(rq->nr_running == rq->cfs.nr_running)) {
    if (task_struct* p = fair_sched_class.pick_next_task(rq, prev)) return p;
    return idle_sched_class.pick_next_task(rq, prev);
  }
  for_each_class(cls) {
    if (task_struct* p = cls->pick_next_task(rq, prev)) return p;
  }
  __builtin_unreachable();  // the idle class always has its task
}

// Runs on the task that was switched to (ti is its thread_info), with rq->lock still held by the
// switch.
static void finish_task_switch(task_struct* prev, thread_info* ti) {
  rq* rq = cpu_rq(ti->cpu.load(std::memory_order_relaxed));
  unsigned prev_state = task_state(prev);
  // prev's context was saved before we got here: from now on it may run elsewhere.
  prev->on_cpu.store(0, std::memory_order_release);
  rq_unlock_irq(rq, ti);
  if (unlikely(prev_state == TASK_DEAD)) release_task_stack_and_ref(prev);
}

static void context_switch(rq* rq, task_struct* prev, task_struct* next) {
  (void)rq;
  next->on_cpu.store(1, std::memory_order_relaxed);
  arch::set_this_cpu_slot(&next->thread_info);
  bool dead = task_state(prev) == TASK_DEAD;
  void* from = arch::context_switch(&prev->ctx, &next->ctx, prev, dead);
  // Resumed: we are prev again, on whichever CPU switched to us.
  finish_task_switch(static_cast<task_struct*>(from), &prev->thread_info);
}

void schedule_tail(task_struct* prev) {
  finish_task_switch(prev, current_thread_info());
}

enum : int { SM_NONE = 0, SM_PREEMPT = 1, SM_YIELD = 2 };

static void schedule_debug(task_struct* prev) {
  if (unlikely(prev->thread_info.preempt_count != PREEMPT_OFFSET)) {
    printk_fmt("BUG: scheduling while atomic: %s/%d/0x%08x", prev->comm, prev->pid,
               prev->thread_info.preempt_count - PREEMPT_OFFSET);
    prev->thread_info.preempt_count = PREEMPT_OFFSET;
  }
}

// ti: the caller's current_thread_info(), which is prev's.
static void __schedule(int sched_mode, thread_info* ti) {
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  rq* rq = cpu_rq(cpu);
  task_struct* prev = rq->curr;
  if (!is_idle_task(prev)) schedule_debug(prev);

  rq_lock_irq(rq, ti);
  update_rq_clock(rq);
  unsigned prev_state = task_state(prev);
  // sched_yield(): the class puts prev behind its peers under the same lock and clock read.
  if (sched_mode & SM_YIELD) prev->sched_class->yield_task(rq);
  stat_u64* switch_count = &prev->nivcsw;
  if (!(sched_mode & SM_PREEMPT) && prev_state != TASK_RUNNING) {
    deactivate_task(rq, prev, DEQUEUE_SLEEP | DEQUEUE_NOCLOCK);
    switch_count = &prev->nvcsw;
  }

  migrate_disable_switch(rq, prev);
  // About to go idle: try to pull work first (may drop and retake rq->lock).
  if (rq->nr_running == 0 && !is_idle_task(prev)) newidle_balance(rq);
  task_struct* next = pick_next_task(rq, prev);
  per_cpu_hot(static_cast<unsigned>(cpu))->need_resched.store(0, std::memory_order_relaxed);

  if (likely(prev != next)) {
    stat_add(rq->nr_switches, 1);
    // Affinity is never broken: a task switched in outside its mask must be in transit.
    if (unlikely(!cpumask_test_cpu(cpu, next->cpus_ptr)) && !next->migration_pending &&
        !is_idle_task(next))
      stat_add(affinity_violations, 1);
    rq->curr = next;
    stat_add(*switch_count, 1);
    per_cpu_hot(static_cast<unsigned>(cpu))
        ->curr_prio.store(is_idle_task(next) ? MAX_PRIO : next->prio, std::memory_order_relaxed);
    if (is_idle_task(prev) || is_idle_task(next)) {
      sched_tick_account(rq, prev, get_jiffies_64());
      idle_transition(cpu, is_idle_task(next));
    }
    trace_sched_switch(sched_mode & SM_PREEMPT, prev, next, prev_state);
    context_switch(rq, prev, next);
  } else {
    rq_unlock_irq(rq, ti);
  }
}

void schedule() {
  thread_info* ti = current_thread_info();
  do {
    __preempt_count_add(ti, 1);
    __schedule(SM_NONE, ti);
    __preempt_count_sub(ti, 1);
    if (unlikely(this_cpu(ti)->pending.load(std::memory_order_relaxed))) do_pending_irqs();
  } while (need_resched(ti));
}

void schedule_yield(thread_info* ti) {
  __preempt_count_add(ti, 1);
  __schedule(SM_YIELD, ti);
  __preempt_count_sub(ti, 1);
  if (unlikely(this_cpu(ti)->pending.load(std::memory_order_relaxed))) do_pending_irqs();
  if (need_resched(ti)) schedule();
}

void schedule_preempt_disabled() {
  __preempt_count_sub(1);
  schedule();
  __preempt_count_add(1);
}

void preempt_schedule() {
  thread_info* ti = current_thread_info();
  if (ti->preempt_count || ti->irqs_off) return;
  task_struct* curr = get_current(ti);
  if (!curr || is_idle_task(curr)) return;
  do {
    __preempt_count_add(ti, 1);
    __schedule(SM_PREEMPT, ti);
    __preempt_count_sub(ti, 1);
    if (unlikely(this_cpu(ti)->pending.load(std::memory_order_relaxed))) do_pending_irqs();
  } while (need_resched(ti));
}

void schedule_idle() {
  thread_info* ti = current_thread_info();
  // The idle task runs with preemption disabled; __schedule sees it at the usual depth.
  do {
    __schedule(SM_NONE, ti);
  } while (need_resched(ti));
}

// Called by do_exit() with preemption disabled, the depth __schedule() expects.
void do_task_dead() {
  thread_info* ti = current_thread_info();
  set_task_state(get_current(ti), TASK_DEAD);
  __schedule(SM_NONE, ti);
  __builtin_trap();
}

// ---- Wakeups
// -------------------------------------------------------------------------------------

static void ttwu_do_wakeup(task_struct* p) {
  set_task_state(p, TASK_RUNNING);
  trace_sched_wakeup(p);
}

static void ttwu_do_activate(rq* rq, task_struct* p, int wake_flags) {
  int en_flags = ENQUEUE_WAKEUP | ENQUEUE_NOCLOCK;
  if (wake_flags & WF_MIGRATED) en_flags |= ENQUEUE_MIGRATED;
  activate_task(rq, p, en_flags);
  wakeup_preempt(rq, p, wake_flags);
  ttwu_do_wakeup(p);
}

// p is still queued (it set its state but has not scheduled yet): just make it runnable.
static bool ttwu_runnable(task_struct* p, int wake_flags) {
  rq* rq = __task_rq_lock(p);
  bool ret = false;
  if (task_on_rq_queued(p)) {
    update_rq_clock(rq);
    if (!task_on_cpu(p)) wakeup_preempt(rq, p, wake_flags);
    ttwu_do_wakeup(p);
    ret = true;
  }
  rq_unlock(rq);
  return ret;
}

// Remote wakeups go through the target's wake list and an IPI, so the waker never takes the
// remote rq->lock. The stopper is never deferred (fix 009836b4fa52): it is activated directly.
static bool ttwu_queue_wakelist(task_struct* p, int cpu, int wake_flags) {
  if (cpu == raw_smp_processor_id() || p->sched_class == &stop_sched_class) return false;
  (void)wake_flags;
  rq* rq = cpu_rq(cpu);
  stat_add(rq->nr_ttwu_remote, 0);  // counted by the target when it activates
  if (llist_add(&p->wake_entry, &rq->wake_list)) send_ipi(cpu, IRQ_RESCHEDULE);
  return true;
}

static void ttwu_queue(task_struct* p, int cpu, int wake_flags) {
  if (ttwu_queue_wakelist(p, cpu, wake_flags)) return;
  rq* rq = cpu_rq(cpu);
  rq_lock(rq);
  update_rq_clock(rq);
  ttwu_do_activate(rq, p, wake_flags);
  rq_unlock(rq);
}

void scheduler_ipi() {
  sched_ttwu_pending();
}

void sched_ttwu_pending() {
  rq* rq = this_rq();
  llist_node* list = llist_reverse_order(llist_del_all(&rq->wake_list));
  if (!list) return;
  rq_lock(rq);
  update_rq_clock(rq);
  while (list) {
    task_struct* p = container_of(list, task_struct, wake_entry);
    list = list->next;
    int wake_flags = WF_TTWU;
    if (task_cpu(p) != rq->cpu) {
      set_task_cpu(p, rq->cpu);
      wake_flags |= WF_MIGRATED;
    }
    stat_add(rq->nr_ttwu_remote, 1);
    ttwu_do_activate(rq, p, wake_flags);
  }
  rq_unlock(rq);
}

int try_to_wake_up(task_struct* p, unsigned state, int wake_flags) {
  if (unlikely(lockdep_holds_class(LOCK_STOPPER)))
    panic("wakeup of %s/%d under a cpu_stopper lock", p->comm, p->pid);
  int success = 0;
  __preempt_count_add(1);
  if (p == get_current()) {
    // Waking ourselves (from an interrupt on our own CPU): the state change is enough.
    if (task_state(p) & state) {
      trace_sched_waking(p);
      ttwu_do_wakeup(p);
      success = 1;
    }
    __preempt_enable();
    return success;
  }

  unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
  if (task_state(p) & state) {
    trace_sched_waking(p);
    success = 1;
    if (!(p->on_rq.load(std::memory_order_acquire) && ttwu_runnable(p, wake_flags))) {
      set_task_state(p, TASK_WAKING);
      // Still switching out on its CPU: let that CPU activate it once it is off.
      if (!(task_on_cpu(p) && ttwu_queue_wakelist(p, task_cpu(p), wake_flags))) {
        // Wait until p's context is saved before it may run anywhere.
        smp_cond_load_acquire(&p->on_cpu, [](int on_cpu) { return !on_cpu; });
        int cpu = select_task_rq(p, p->wake_cpu, wake_flags | WF_TTWU);
        if (task_cpu(p) != cpu) {
          wake_flags |= WF_MIGRATED;
          count_migration(task_cpu(p), cpu, MIG_WAKEUP);
          set_task_cpu(p, cpu);
        }
        ttwu_queue(p, cpu, wake_flags);
      }
    }
  }
  __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
  __preempt_enable();
  return success;
}

int wake_up_process(task_struct* p) {
  return try_to_wake_up(p, TASK_NORMAL, 0);
}
int wake_up_state(task_struct* p, unsigned state) {
  return try_to_wake_up(p, state, 0);
}

void wake_up_new_task(task_struct* p) {
  unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
  set_task_state(p, TASK_RUNNING);
  __set_task_cpu(p, select_task_rq(p, task_cpu(p), WF_FORK));
  rq* rq = __task_rq_lock(p);
  update_rq_clock(rq);
  activate_task(rq, p, ENQUEUE_NOCLOCK | ENQUEUE_INITIAL);
  trace_sched_wakeup_new(p);
  wakeup_preempt(rq, p, WF_FORK);
  rq_unlock(rq);
  __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
}

// ---- CPU selection
// -------------------------------------------------------------------------------

int select_task_rq(task_struct* p, int cpu, int wake_flags) {
  if (p->nr_cpus_allowed > 1 && !p->migration_disabled)
    cpu = p->sched_class->select_task_rq(p, cpu, wake_flags);
  else if (!cpumask_test_cpu(cpu, p->cpus_ptr))
    cpu = static_cast<int>(cpumask_first(p->cpus_ptr));
  if (unlikely(!is_cpu_allowed(p, cpu))) cpu = select_fallback_rq(cpu, p);
  return cpu;
}

// ---- The tick
// --------------------------------------------------------------------------------------

void sched_tick_account(rq* rq, task_struct* curr, u64 now_jiffies) {
  u64 delta = now_jiffies - rq->last_tick_jiffies;
  if (static_cast<s64>(delta) <= 0) return;
  rq->last_tick_jiffies = now_jiffies;
  // Time the host took is nobody's here (account_process_tick): it goes to steal.
  if (u64 steal = std::min(delta, rq->steal_unaccounted / TICK_NSEC)) {
    rq->steal_unaccounted -= steal * TICK_NSEC;
    stat_add(rq->cpustat[CPUTIME_STEAL], steal);
    if ((delta -= steal) == 0) return;
  }
  if (is_idle_task(curr)) {
    stat_add(rq->cpustat[CPUTIME_IDLE], delta);
  } else if (!(curr->flags & PF_KTHREAD) && !curr->in_kernel) {
    stat_add(curr->utime, delta);
    stat_add(rq->cpustat[task_nice_of(curr) > 0 ? CPUTIME_NICE : CPUTIME_USER], delta);
  } else {
    stat_add(curr->stime, delta);
    stat_add(rq->cpustat[in_softirq_ctx() ? CPUTIME_SOFTIRQ : CPUTIME_SYSTEM], delta);
  }
}

// steal_account_process_time(): each tick samples the steal clock (before the lock: it is a
// system call), and every few ticks decides whether haltpoll may spin here. The kernel polls
// before halting only on dedicated vCPUs (cpuidle-haltpoll needs KVM_HINTS_REALTIME): on a
// shared core the spin takes the cycles of whoever would send the wakeup, a client on the same
// host.
static void steal_account_process_time(rq* rq, u64 now_jiffies) {
  constexpr u64 STEAL_WINDOW = 8;  // jiffies
  steal_sample(rq, arch::local_clock());
  u64 elapsed = now_jiffies - rq->steal_window_jiffies;
  if (elapsed < STEAL_WINDOW) return;
  // Heavy: the host kept us waiting for more than 1/16 of the window.
  rq->steal_heavy.store(rq->steal_window * 16 > elapsed * TICK_NSEC, std::memory_order_relaxed);
  rq->steal_window = 0;
  rq->steal_window_jiffies = now_jiffies;
}

void scheduler_tick() {
  rq* rq = this_rq();
  u64 now = get_jiffies_64();
  // Before the lock: the steal clock is a system call, and only this CPU's thread (never a
  // remote CPU) touches what it updates besides steal_task_pending.
  steal_account_process_time(rq, now);
  rq_lock(rq);
  task_struct* curr = rq->curr;
  update_rq_clock(rq);
  sched_tick_account(rq, curr, now);
  curr->sched_class->task_tick(rq, curr, 0);
  rq_unlock(rq);
  calc_global_load_tick();
  trigger_load_balance(rq);
}

// ---- Policy and priority ------------------------------------------------------------------------

void set_load_weight(task_struct* p) {
  int idx = p->static_prio - MAX_RT_PRIO;
  if (p->policy == SCHED_IDLE) {
    p->se.load.weight = 3;  // WEIGHT_IDLEPRIO
    p->se.load.inv_weight = 1431655765;
  } else {
    p->se.load.weight = static_cast<unsigned long>(sched_prio_to_weight[idx]);
    p->se.load.inv_weight = sched_prio_to_wmult[idx];
  }
}

static const sched_class* class_for(const task_struct* p) {
  if (p->sched_class == &stop_sched_class || p->sched_class == &idle_sched_class)
    return p->sched_class;
  return rt_prio(p->prio) ? &rt_sched_class : &fair_sched_class;
}

// Applies policy, priority and nice to p, moving it between classes as needed. Caller holds
// nothing; returns 0 or -EINVAL.
int __sched_setscheduler(task_struct* p, int policy, int prio, int nice, bool) {
  if (!valid_policy(policy)) return -EINVAL;
  if (rt_policy(policy) ? (prio < 1 || prio > MAX_RT_PRIO - 1) : prio != 0) return -EINVAL;
  rq_flags rf;
  rq* rq = task_rq_lock(p, &rf);
  update_rq_clock(rq);
  bool queued = task_on_rq_queued(p);
  bool running = task_current(rq, p);
  if (queued) dequeue_task(rq, p, DEQUEUE_SAVE | DEQUEUE_NOCLOCK);
  if (running) p->sched_class->put_prev_task(rq, p);

  int oldprio = p->prio;
  const sched_class* prev_class = p->sched_class;
  p->policy = policy;
  p->rt_priority = static_cast<unsigned>(rt_policy(policy) ? prio : 0);
  p->static_prio = NICE_TO_PRIO(std::clamp(nice, MIN_NICE, MAX_NICE));  // RT tasks keep one too
  p->normal_prio = rt_policy(policy) ? MAX_RT_PRIO - 1 - prio : p->static_prio;
  p->prio = p->normal_prio;
  set_load_weight(p);
  if (p->sched_class != &stop_sched_class) p->sched_class = class_for(p);

  if (queued) enqueue_task(rq, p, ENQUEUE_RESTORE | ENQUEUE_NOCLOCK);
  if (running) p->sched_class->set_next_task(rq, p, false);
  if (prev_class != p->sched_class) {
    if (prev_class->switched_from) prev_class->switched_from(rq, p);
    if (p->sched_class->switched_to) p->sched_class->switched_to(rq, p);
  } else if (oldprio != p->prio && p->sched_class->prio_changed) {
    p->sched_class->prio_changed(rq, p, oldprio);
  }
  if (queued && !running) wakeup_preempt(rq, p, 0);
  task_rq_unlock(rq, p, &rf);
  return 0;
}

// Makes stop the stopper of cpu (sched_set_stop_task): SCHED_FIFO 99 to the world, stop class
// inside. A previous stopper goes back to the rt class.
void sched_set_stop_task(int cpu, task_struct* stop) {
  rq* rq = cpu_rq(cpu);
  task_struct* old = rq->stop;
  if (stop) {
    __sched_setscheduler(stop, SCHED_FIFO, MAX_RT_PRIO - 1, 0, false);
    rq_flags rf;
    struct rq* srq = task_rq_lock(stop, &rf);
    stop->sched_class = &stop_sched_class;
    task_rq_unlock(srq, stop, &rf);
  }
  rq_lock_irq(rq);
  rq->stop = stop;
  rq_unlock_irq(rq);
  if (old) {
    rq_flags rf;
    struct rq* orq = task_rq_lock(old, &rf);
    old->sched_class = &rt_sched_class;
    task_rq_unlock(orq, old, &rf);
  }
}

// ---- Initialisation
// --------------------------------------------------------------------------------

void sched_init() {
  // The kernel BUGs when the linker placed the classes out of order; we check the array.
  static_assert(sizeof(sched_classes) / sizeof(sched_classes[0]) == 4);
  BUG_ON(sched_classes[0] != &stop_sched_class || sched_classes[3] != &idle_sched_class);
  runqueues = new rq[nr_cpu_ids_];
  calc_global_load_init();
  rd_overloaded.store(false, std::memory_order_relaxed);  // nothing left from an earlier boot
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    rq* rq = cpu_rq(static_cast<int>(cpu));
    raw_spin_lock_init(&rq->__lock, LOCK_RQ, static_cast<std::uint16_t>(cpu));
    rq->cpu = static_cast<int>(cpu);
    rq->cpumask_of_cpu = cpumask::of(cpu);
    init_cfs_rq(&rq->cfs);
    init_rt_rq(&rq->rt, static_cast<int>(cpu));
    rq->last_tick_jiffies = 0;
    per_cpu_hot(cpu)->rq = rq;
  }
  idle_cpus_mask.store({});
  init_rt_bandwidth();
  sched_rr_timeslice = std::max(1u, RR_TIMESLICE_MS * HZ / 1000);
  update_sysctl_sched(cpu_active_mask.weight());  // the boot CPU; smp_init rescales
  migrate_init();
  init_sched_fair_class();
  printk_fmt("sched_init: classes stop > rt > fair > idle, CFS latency %u us, RR slice %u ms",
             sysctl_sched_latency_ns.load() / 1000, RR_TIMESLICE_MS);
}

void sched_exit() {
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) exit_rt_rq(&cpu_rq(static_cast<int>(cpu))->rt);
  delete[] runqueues;
  runqueues = nullptr;
}

}  // namespace cpustop

namespace cpustop {

// wait_task_inactive(): kthread_bind and kthread_park wait for a task to be off its CPU.
bool wait_task_inactive(task_struct* p, unsigned match_state) {
  auto state_mismatch = [&](unsigned state) {
    return match_state && state != match_state && !(state & match_state);
  };
  for (;;) {
    // While p runs, its CPU will switch it out soon: wait for that (the kernel spins here).
    cond_wait(&p->on_cpu, [&] { return !task_on_cpu(p) || state_mismatch(task_state(p)); });
    rq_flags rf;
    rq* rq = task_rq_lock(p, &rf);
    bool running = task_on_cpu(p);
    bool queued = task_on_rq_queued(p);
    unsigned state = task_state(p);
    task_rq_unlock(rq, p, &rf);
    if (state_mismatch(state)) return false;
    if (!running && !queued) return true;
    if (running) continue;
    // Runnable but not running: it must run before it can block. A task sleeps meanwhile, as
    // the kernel's schedule_hrtimeout(); anything else waits on the queued word.
    if (schedulable_current() && !in_atomic())
      schedule_hrtimeout(arch::local_clock() + 20 * NSEC_PER_USEC);
    else
      cond_wait(&p->on_rq, [&] { return !task_on_rq_queued(p) || task_on_cpu(p); });
  }
}

// sched_fork(): policy, priority and class of a new task, on an allowed online CPU.
void sched_fork_init(task_struct* p, const task_attr& attr, bool kthread) {
  (void)kthread;
  p->policy = attr.policy;
  p->rt_priority = rt_policy(attr.policy) ? static_cast<unsigned>(attr.rt_priority) : 0;
  p->static_prio = NICE_TO_PRIO(fair_policy(attr.policy) ? attr.nice : 0);
  p->normal_prio = rt_policy(attr.policy) ? MAX_RT_PRIO - 1 - attr.rt_priority : p->static_prio;
  p->prio = p->normal_prio;
  set_load_weight(p);
  p->sched_class = rt_prio(p->prio) ? &rt_sched_class : &fair_sched_class;
  p->rt.time_slice = sched_rr_timeslice;
  int cpu = raw_smp_processor_id();
  if (cpu < 0 || !p->cpus_mask.test(static_cast<unsigned>(cpu)) || !cpu_online(cpu)) {
    cpumask ok = p->cpus_mask & cpu_online_mask.load();
    cpu = static_cast<int>(ok.empty() ? p->cpus_mask.first() : ok.first());
  }
  __set_task_cpu(p, cpu);
  if (p->sched_class->task_fork) p->sched_class->task_fork(p);
}

// init_idle(): the idle task of cpu, current on its run queue from the start.
void init_idle(task_struct* idle, int cpu) {
  rq* rq = cpu_rq(cpu);
  // For the boot CPU this is the running context itself: its count is already 1.
  idle->thread_info.preempt_count = PREEMPT_OFFSET;  // the idle loop runs non-preemptible
  idle->__state.store(TASK_RUNNING, std::memory_order_relaxed);
  idle->flags |= PF_IDLE | PF_KTHREAD;
  idle->sched_class = &idle_sched_class;
  idle->policy = SCHED_NORMAL;
  idle->prio = idle->static_prio = idle->normal_prio = DEFAULT_PRIO;
  idle->cpus_mask = cpumask::of(static_cast<unsigned>(cpu));
  idle->nr_cpus_allowed = 1;
  idle->thread_info.cpu.store(cpu, std::memory_order_relaxed);
  idle->on_cpu.store(1, std::memory_order_relaxed);
  idle->detached = true;
  std::snprintf(idle->comm, sizeof(idle->comm), "swapper/%d", cpu);
  raw_spin_lock_init(&idle->pi_lock, LOCK_PI);
  rq_lock_irq(rq);
  rq->idle = rq->curr = idle;
  rq_unlock_irq(rq);
  idle_cpus_mask.set(static_cast<unsigned>(cpu));
}

}  // namespace cpustop
