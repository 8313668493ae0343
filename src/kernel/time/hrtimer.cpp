// Per-CPU timer queues. Expired timers run from hrtimer_interrupt() on their CPU: from the idle
// loop when it wakes for them, or from the clock event device's interrupt when the CPU is busy.
#include "kernel/time/hrtimer.h"

#include "kernel/task.h"
#include "kernel/time/tick.h"

namespace cpustop {

struct expires_less {
  bool operator()(const hrtimer& a, const hrtimer& b) const { return a.expires < b.expires; }
};

struct hrtimer_cpu_base {
  raw_spinlock_t lock;
  boost::intrusive::multiset<
      hrtimer,
      boost::intrusive::member_hook<hrtimer, boost::intrusive::set_member_hook<>, &hrtimer::node>,
      boost::intrusive::compare<expires_less>>
      active;
  std::atomic<u64> next_expiry{KTIME_MAX};
  std::atomic<hrtimer*> running{nullptr};
  int cpu = 0;
};

namespace {

hrtimer_cpu_base* bases;

void update_next_expiry(hrtimer_cpu_base* base) {
  base->next_expiry.store(base->active.empty() ? KTIME_MAX : base->active.begin()->expires,
                          std::memory_order_release);
}

// Locks the base timer is on, retrying if it moves meanwhile.
hrtimer_cpu_base* lock_hrtimer_base(hrtimer* timer, unsigned long* flags) {
  for (;;) {
    hrtimer_cpu_base* base = timer->base.load(std::memory_order_acquire);
    if (!base) return nullptr;
    *flags = __raw_spin_lock_irqsave(&base->lock);
    if (timer->base.load(std::memory_order_relaxed) == base) return base;
    __raw_spin_unlock_irqrestore(&base->lock, *flags);
  }
}

}  // namespace

void hrtimers_init(unsigned nr_cpus) {
  bases = new hrtimer_cpu_base[nr_cpus];
  for (unsigned c = 0; c < nr_cpus; c++) {
    raw_spin_lock_init(&bases[c].lock, LOCK_HRTIMER, static_cast<std::uint16_t>(c));
    bases[c].cpu = static_cast<int>(c);
  }
}

void hrtimers_exit() {
  delete[] bases;
  bases = nullptr;
}

void hrtimer_init(hrtimer* timer, hrtimer_restart (*function)(hrtimer*)) {
  timer->function = function;
  timer->base.store(nullptr, std::memory_order_relaxed);
  timer->enqueued = false;
}

void hrtimer_start(hrtimer* timer, u64 expires) {
  unsigned long flags;
  if (hrtimer_cpu_base* old = lock_hrtimer_base(timer, &flags)) {
    if (timer->enqueued) {
      old->active.erase(old->active.iterator_to(*timer));
      timer->enqueued = false;
      update_next_expiry(old);
    }
    __raw_spin_unlock_irqrestore(&old->lock, flags);
  }
  __preempt_count_add(1);
  int cpu = raw_smp_processor_id();
  hrtimer_cpu_base* base = &bases[cpu < 0 ? 0 : cpu];
  flags = __raw_spin_lock_irqsave(&base->lock);
  timer->expires = expires;
  timer->base.store(base, std::memory_order_release);
  base->active.insert(*timer);
  timer->enqueued = true;
  bool first = &*base->active.begin() == timer;
  update_next_expiry(base);
  __raw_spin_unlock_irqrestore(&base->lock, flags);
  if (first) tick_program_event(base->cpu, expires);
  __preempt_enable();
}

int hrtimer_try_to_cancel(hrtimer* timer) {
  unsigned long flags;
  hrtimer_cpu_base* base = lock_hrtimer_base(timer, &flags);
  if (!base) return 0;
  int ret = 0;
  if (base->running.load(std::memory_order_relaxed) == timer) {
    ret = -1;
  } else if (timer->enqueued) {
    base->active.erase(base->active.iterator_to(*timer));
    timer->enqueued = false;
    update_next_expiry(base);
    ret = 1;
  }
  __raw_spin_unlock_irqrestore(&base->lock, flags);
  return ret;
}

u64 hrtimer_forward_now(hrtimer* timer, u64 interval) {
  u64 now = arch::local_clock();
  if (timer->expires > now) return 0;
  u64 overrun = (now - timer->expires) / interval + 1;
  timer->expires += overrun * interval;
  return overrun;
}

// A running callback is short: wait for it to finish (hrtimer_cancel_wait_running()).
int hrtimer_cancel(hrtimer* timer) {
  int ret;
  cond_wait([&] { return (ret = hrtimer_try_to_cancel(timer)) >= 0; });
  return ret;
}

void hrtimer_interrupt() {
  hrtimer_cpu_base* base = &bases[raw_smp_processor_id()];
  u64 now = arch::local_clock();
  unsigned long flags = __raw_spin_lock_irqsave(&base->lock);
  while (!base->active.empty() && base->active.begin()->expires <= now) {
    hrtimer* timer = &*base->active.begin();
    base->active.erase(base->active.begin());
    timer->enqueued = false;
    base->running.store(timer, std::memory_order_relaxed);
    update_next_expiry(base);
    __raw_spin_unlock_irqrestore(&base->lock, flags);
    hrtimer_restart restart = timer->function(timer);
    flags = __raw_spin_lock_irqsave(&base->lock);
    if (restart == HRTIMER_RESTART && !timer->enqueued) {
      base->active.insert(*timer);
      timer->enqueued = true;
    }
    base->running.store(nullptr, std::memory_order_release);
  }
  update_next_expiry(base);
  __raw_spin_unlock_irqrestore(&base->lock, flags);
}

void hrtimers_cpu_dying(int dying, int to) {
  hrtimer_cpu_base* old = &bases[dying];
  hrtimer_cpu_base* base = &bases[to];
  hrtimer_cpu_base* first = dying < to ? old : base;
  hrtimer_cpu_base* second = dying < to ? base : old;
  unsigned long flags = __raw_spin_lock_irqsave(&first->lock);
  __raw_spin_lock(&second->lock);
  while (!old->active.empty()) {
    hrtimer* timer = &*old->active.begin();
    old->active.erase(old->active.begin());
    timer->base.store(base, std::memory_order_release);
    base->active.insert(*timer);
  }
  update_next_expiry(old);
  update_next_expiry(base);
  u64 next = base->next_expiry.load(std::memory_order_relaxed);
  __raw_spin_unlock(&second->lock);
  __raw_spin_unlock_irqrestore(&first->lock, flags);
  if (next != KTIME_MAX) tick_program_event(to, next);
}

u64 hrtimer_next_expiry(int cpu) {
  return bases[cpu].next_expiry.load(std::memory_order_acquire);
}

namespace {

hrtimer_restart hrtimer_wakeup(hrtimer* timer) {
  auto* sl = container_of(timer, hrtimer_sleeper, timer);
  if (task_struct* task = sl->task.exchange(nullptr, std::memory_order_acq_rel))
    wake_up_process(task);
  return HRTIMER_NORESTART;
}

}  // namespace

void hrtimer_init_sleeper(hrtimer_sleeper* sl, task_struct* task) {
  hrtimer_init(&sl->timer, hrtimer_wakeup);
  sl->task.store(task, std::memory_order_relaxed);
}

void schedule_hrtimeout(u64 expires) {
  hrtimer_sleeper t;
  hrtimer_init_sleeper(&t, get_current());
  hrtimer_start(&t.timer, expires);
  for (;;) {
    set_current_state(TASK_UNINTERRUPTIBLE);
    if (!t.task.load(std::memory_order_acquire)) break;
    schedule();
  }
  __set_current_state(TASK_RUNNING);
  hrtimer_cancel(&t.timer);
}

}  // namespace cpustop
