// The spin lock's slow path and the public out-of-line entry points.
#include "kernel/locking/spinlock.h"

namespace cpustop {

// Spin while the holder is likely running; then block with the word at 2 ("a waiter sleeps"), so
// that the unlock wakes us and an oversubscribed host lets the holder's thread run.
void raw_spin_lock_slowpath(raw_spinlock_t* l) {
  if (cond_spin(
          [l] { return l->val.load(std::memory_order_relaxed) == 0 && do_raw_spin_trylock(l); }))
    return;
  while (l->val.exchange(2, std::memory_order_acquire) != 0) cond_block(&l->val, 2u, COND_FOREVER);
}

void raw_spin_lock(raw_spinlock_t* l) {
  __raw_spin_lock(l);
}
void raw_spin_unlock(raw_spinlock_t* l) {
  __raw_spin_unlock(l);
}
bool raw_spin_trylock(raw_spinlock_t* l) {
  return __raw_spin_trylock(l);
}
void raw_spin_lock_irq(raw_spinlock_t* l) {
  __raw_spin_lock_irq(l);
}
void raw_spin_unlock_irq(raw_spinlock_t* l) {
  __raw_spin_unlock_irq(l);
}
void raw_spin_lock_irqsave(raw_spinlock_t* l, unsigned long& flags) {
  flags = __raw_spin_lock_irqsave(l);
}
void raw_spin_unlock_irqrestore(raw_spinlock_t* l, unsigned long flags) {
  __raw_spin_unlock_irqrestore(l, flags);
}

}  // namespace cpustop
