// The clock event device. Idle CPUs need no tick (they sleep until their next timer); for each
// busy CPU this raises IRQ_TICK every TICK_NSEC and IRQ_HRTIMER when its first timer expires.
// Under preempt=full it signals a CPU whose previous tick is still unhandled, i.e. a task that
// has run a whole tick without reaching a preemption point.
#include "kernel/time/tick.h"

#include <memory>

#include "kernel/irq.h"
#include "kernel/task.h"
#include "kernel/time/hrtimer.h"
#include "kernel/time/jiffies.h"

namespace cpustop {

namespace {

std::unique_ptr<u64[]> tick_due;
std::atomic<u64> planned_wake{KTIME_MAX};

u64 tick_clockevent_handler() {
  u64 now = arch::local_clock();
  u64 next = now + TICK_NSEC;
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    if (!cpu_online(static_cast<int>(cpu))) continue;
    cpu_hot* h = per_cpu_hot(cpu);
    if (h->idle_state.load(std::memory_order_relaxed) != CPU_BUSY) {
      tick_due[cpu] = now + TICK_NSEC;  // the first tick comes one period after idle ends
      continue;
    }
    if (now >= tick_due[cpu]) {
      raise_irq_busy(static_cast<int>(cpu), IRQ_TICK, false);
      tick_due[cpu] = now + TICK_NSEC;
    }
    next = std::min(next, tick_due[cpu]);
    u64 exp = hrtimer_next_expiry(static_cast<int>(cpu));
    if (exp <= now)
      raise_irq_busy(static_cast<int>(cpu), IRQ_HRTIMER, true);
    else
      next = std::min(next, exp);
  }
  planned_wake.store(next, std::memory_order_release);
  return next;
}

}  // namespace

int tick_init() {
  tick_due = std::make_unique<u64[]>(nr_cpu_ids_);
  planned_wake.store(KTIME_MAX, std::memory_order_relaxed);
  return arch::clockevent_start(tick_clockevent_handler);
}

void tick_exit() {
  arch::clockevent_stop();
  tick_due.reset();
}

void tick_program_event(int, u64 expires) {
  // Only a busy CPU needs the device for its timers; kicking is cheap enough to not check.
  if (expires < planned_wake.load(std::memory_order_acquire)) {
    planned_wake.store(expires, std::memory_order_release);
    arch::clockevent_kick();
  }
}

void tick_handle_periodic() {
  cpu_hot* h = this_cpu();
  h->nr_local_timer.store(h->nr_local_timer.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  scheduler_tick();
}

}  // namespace cpustop
