// High-resolution timers (kernel/time/hrtimer.c): per-CPU queues ordered by expiry. A timer's
// callback runs in hardirq context on the CPU whose queue it is on.
#pragma once

#include <boost/intrusive/set.hpp>

#include "kernel/locking/spinlock.h"
#include "kernel/percpu.h"

namespace cpustop {

inline constexpr u64 KTIME_MAX = ~u64{0};

enum hrtimer_restart { HRTIMER_NORESTART, HRTIMER_RESTART };

struct hrtimer_cpu_base;

struct hrtimer {
  boost::intrusive::set_member_hook<> node;
  u64 expires = 0;  // local_clock() time
  hrtimer_restart (*function)(hrtimer*) = nullptr;
  std::atomic<hrtimer_cpu_base*> base{nullptr};  // the queue it is on, or last ran on
  void* data = nullptr;                          // for the owner's callback
  bool enqueued = false;                         // under base->lock
};

void hrtimers_init(unsigned nr_cpus);
void hrtimers_exit();
void hrtimer_init(hrtimer* timer, hrtimer_restart (*function)(hrtimer*));
// (Re)arms timer to fire at `expires` on the calling CPU (CPU 0 from outside cpustop).
void hrtimer_start(hrtimer* timer, u64 expires);
// Moves an expired timer's expiry forward by whole intervals past now; returns how many (the
// overruns). For a callback that returns HRTIMER_RESTART.
u64 hrtimer_forward_now(hrtimer* timer, u64 interval);
// 1 if it was queued and is now removed, 0 if it was not queued, -1 if its callback is running.
int hrtimer_try_to_cancel(hrtimer* timer);
// Removes timer and waits for a running callback to finish. Returns hrtimer_try_to_cancel's
// first answer (1 or 0).
int hrtimer_cancel(hrtimer* timer);
// Runs the expired timers of this CPU (hardirq context).
void hrtimer_interrupt();
// CPU hotplug: move the dying CPU's timers to cpu `to` (called on the dying CPU).
void hrtimers_cpu_dying(int dying, int to);
// Earliest expiry queued on cpu, KTIME_MAX if none. Lockless.
u64 hrtimer_next_expiry(int cpu);

// A sleeper: the callback wakes `task`.
struct task_struct;
struct hrtimer_sleeper {
  hrtimer timer;
  std::atomic<task_struct*> task{nullptr};
};
void hrtimer_init_sleeper(hrtimer_sleeper* sl, task_struct* task);

// Sleeps the current task until local_clock() >= expires (TASK_UNINTERRUPTIBLE).
void schedule_hrtimeout(u64 expires);

}  // namespace cpustop
