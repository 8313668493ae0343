// The preempt count and the points where deferred interrupts run and preemption happens.
//
// Interrupts (ticks, timer expiry, remote wakeups) raised on a CPU are recorded in its pending
// word and handled at the next point where the running context has preempt_count() == 0 and
// interrupts on: preempt_enable(), local_irq_enable(), cond_resched(), the idle loop, and under
// preempt=full the asynchronous signal. They never run while a spin lock is held on this CPU.
#pragma once

#include "cpustop/boot.h"
#include "cpustop/preempt.h"
#include "kernel/percpu.h"

namespace cpustop {

inline constexpr int PREEMPT_OFFSET = 1;
inline constexpr int SOFTIRQ_OFFSET = 1 << 8;
inline constexpr int HARDIRQ_OFFSET = 1 << 16;
inline constexpr int PREEMPT_MASK = 0x000000ff;
inline constexpr int SOFTIRQ_MASK = 0x0000ff00;
inline constexpr int HARDIRQ_MASK = 0x000f0000;
// Every task is switched out with this count: schedule()'s own disable plus rq->lock held.
inline constexpr int SWITCH_PREEMPT_COUNT = 2 * PREEMPT_OFFSET;

extern preempt_model preempt_model_current;

inline void barrier() {
  asm volatile("" ::: "memory");
}

// The variants that take ti: see this_cpu(ti).
inline void __preempt_count_add(thread_info* ti, int v) {
  ti->preempt_count += v;
  barrier();
}
inline void __preempt_count_sub(thread_info* ti, int v) {
  barrier();
  ti->preempt_count -= v;
}
inline void __preempt_count_add(int v) {
  __preempt_count_add(current_thread_info(), v);
}
inline void __preempt_count_sub(int v) {
  __preempt_count_sub(current_thread_info(), v);
}
inline int __preempt_count() {
  return current_thread_info()->preempt_count;
}
inline bool in_atomic() {
  return __preempt_count() != 0;
}
inline bool __irqs_disabled() {
  return current_thread_info()->irqs_off != 0;
}
inline bool in_hardirq() {
  return __preempt_count() & HARDIRQ_MASK;
}
inline bool in_softirq_ctx() {
  return __preempt_count() & SOFTIRQ_MASK;
}

inline bool need_resched(thread_info* ti) {
  return this_cpu(ti)->need_resched.load(std::memory_order_relaxed) != 0;
}
inline bool need_resched() {
  return need_resched(current_thread_info());
}

// Handles this CPU's pending interrupts (ticks, timers, remote wakeups) in hardirq context.
void do_pending_irqs();
// Reschedules if needed and allowed; the caller is in task context with a zero count.
void preempt_schedule();

// Runs at the outermost enable of preemption or interrupts.
inline void irq_enable_point() {
  cpu_hot* h = this_cpu();
  if (unlikely(h->pending.load(std::memory_order_relaxed))) do_pending_irqs();
  if (unlikely(h->need_resched.load(std::memory_order_relaxed)) &&
      preempt_model_current != preempt_model::none)
    preempt_schedule();
}

inline void __preempt_enable(thread_info* ti) {
  barrier();
  if (--ti->preempt_count == 0 && !ti->irqs_off) irq_enable_point();
}
inline void __preempt_enable() {
  __preempt_enable(current_thread_info());
}

// might_sleep(): false (after a one-time report) when the caller is in atomic context.
bool __might_sleep(const char* where);
#define might_sleep() \
  ((!::cpustop::in_atomic() && !::cpustop::__irqs_disabled()) || ::cpustop::__might_sleep(__func__))

// A voluntary preemption point at the end of a runtime call.
inline void might_resched() {
  if (preempt_model_current != preempt_model::none) {
    thread_info* ti = current_thread_info();
    if (ti->preempt_count == 0 && !ti->irqs_off) irq_enable_point();
  }
}

}  // namespace cpustop
