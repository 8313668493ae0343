// raw_spinlock_t: the kernel's spinning lock. Taking it disables preemption on the calling CPU
// (and, with the _irq/_irqsave forms, interrupt processing) until it is released.
//
// Waiting spins for a bounded time and then blocks the CPU's OS thread, so that a machine with
// more logical CPUs than cores still makes progress when the holder's thread is descheduled.
// Callable from tasks, interrupt context and threads outside cpustop. Never sleeps in the
// scheduler's sense. Holding one across a call that may sleep is a bug ("scheduling while
// atomic"), reported by the scheduler.
#pragma once

#include <atomic>
#include <cstdint>

namespace cpustop {

struct raw_spinlock_t {
  std::atomic<std::uint32_t> val{0};  // 0 free, 1 held, 2 held with blocked waiters
  std::uint16_t dep_class = 0;        // lock-order class (0: unchecked), see lockdep.h
  std::uint16_t dep_subclass = 0;     // order among locks of one class (e.g. the CPU number)
};

void raw_spin_lock(raw_spinlock_t* lock);
void raw_spin_unlock(raw_spinlock_t* lock);
// true if taken.
bool raw_spin_trylock(raw_spinlock_t* lock);
void raw_spin_lock_irq(raw_spinlock_t* lock);
void raw_spin_unlock_irq(raw_spinlock_t* lock);
void raw_spin_lock_irqsave(raw_spinlock_t* lock, unsigned long& flags);
void raw_spin_unlock_irqrestore(raw_spinlock_t* lock, unsigned long flags);

// Scoped forms, as the kernel's guard(raw_spinlock)(&lock).
class raw_spin_guard {
 public:
  explicit raw_spin_guard(raw_spinlock_t* l) : l_(l) { raw_spin_lock(l_); }
  ~raw_spin_guard() { raw_spin_unlock(l_); }
  raw_spin_guard(const raw_spin_guard&) = delete;
  raw_spin_guard& operator=(const raw_spin_guard&) = delete;

 private:
  raw_spinlock_t* l_;
};

class raw_spin_irqsave_guard {
 public:
  explicit raw_spin_irqsave_guard(raw_spinlock_t* l) : l_(l) { raw_spin_lock_irqsave(l_, f_); }
  ~raw_spin_irqsave_guard() { raw_spin_unlock_irqrestore(l_, f_); }
  raw_spin_irqsave_guard(const raw_spin_irqsave_guard&) = delete;
  raw_spin_irqsave_guard& operator=(const raw_spin_irqsave_guard&) = delete;

 private:
  raw_spinlock_t* l_;
  unsigned long f_ = 0;
};

}  // namespace cpustop
