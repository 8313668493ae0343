// Inline lock paths for the kernel layer (the public raw_spin_lock() calls these).
#pragma once

#include "kernel/locking/cond_wait.h"
#include "kernel/locking/lockdep.h"
#include "kernel/preempt.h"

namespace cpustop {

void raw_spin_lock_slowpath(raw_spinlock_t* l);

inline bool do_raw_spin_trylock(raw_spinlock_t* l) {
  u32 expected = 0;
  return l->val.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                        std::memory_order_relaxed);
}
inline void do_raw_spin_lock(raw_spinlock_t* l) {
  if (likely(do_raw_spin_trylock(l))) return;
  raw_spin_lock_slowpath(l);
}
inline void do_raw_spin_unlock(raw_spinlock_t* l) {
  if (unlikely(l->val.exchange(0, std::memory_order_release) == 2)) cond_wake(&l->val, 1);
}
inline bool raw_spin_is_locked(const raw_spinlock_t* l) {
  return l->val.load(std::memory_order_relaxed) != 0;
}

// The variants that take ti get the caller's current_thread_info() (see this_cpu(ti)).
inline void __raw_spin_lock(raw_spinlock_t* l, thread_info* ti) {
  ti->preempt_count += 1;
  barrier();
  lockdep_acquire(l);
  do_raw_spin_lock(l);
}
inline void __raw_spin_lock(raw_spinlock_t* l) {
  __raw_spin_lock(l, current_thread_info());
}
inline bool __raw_spin_trylock(raw_spinlock_t* l) {
  __preempt_count_add(1);
  if (do_raw_spin_trylock(l)) {
    lockdep_acquire(l);
    return true;
  }
  __preempt_enable();
  return false;
}
inline void __raw_spin_unlock(raw_spinlock_t* l) {
  lockdep_release(l);
  do_raw_spin_unlock(l);
  __preempt_enable();
}
inline void __local_irq_disable() {
  current_thread_info()->irqs_off = 1;
}
inline void __raw_spin_lock_irq(raw_spinlock_t* l, thread_info* ti) {
  ti->irqs_off = 1;
  __raw_spin_lock(l, ti);
}
inline void __raw_spin_lock_irq(raw_spinlock_t* l) {
  __raw_spin_lock_irq(l, current_thread_info());
}
inline void __raw_spin_unlock_irq(raw_spinlock_t* l, thread_info* ti) {
  lockdep_release(l);
  do_raw_spin_unlock(l);
  ti->irqs_off = 0;
  __preempt_enable(ti);
}
inline void __raw_spin_unlock_irq(raw_spinlock_t* l) {
  __raw_spin_unlock_irq(l, current_thread_info());
}
inline unsigned long __raw_spin_lock_irqsave(raw_spinlock_t* l) {
  thread_info* ti = current_thread_info();
  unsigned long flags = static_cast<unsigned long>(ti->irqs_off);
  ti->irqs_off = 1;
  __raw_spin_lock(l, ti);
  return flags;
}
inline void __raw_spin_unlock_irqrestore(raw_spinlock_t* l, unsigned long flags) {
  thread_info* ti = current_thread_info();
  lockdep_release(l);
  do_raw_spin_unlock(l);
  ti->irqs_off = static_cast<int>(flags);
  __preempt_enable(ti);
}

// Scoped irqsave guard for kernel code.
class spin_irqsave_guard {
 public:
  explicit spin_irqsave_guard(raw_spinlock_t* l) : l_(l), f_(__raw_spin_lock_irqsave(l)) {}
  ~spin_irqsave_guard() { __raw_spin_unlock_irqrestore(l_, f_); }
  spin_irqsave_guard(const spin_irqsave_guard&) = delete;
  spin_irqsave_guard& operator=(const spin_irqsave_guard&) = delete;

 private:
  raw_spinlock_t* l_;
  unsigned long f_;
};

}  // namespace cpustop
