// Lock order, written once. A CPU may take a lock only if it ranks above every lock it already
// holds; locks of one class nest by subclass (the CPU number), ascending. Debug builds
// (CPUSTOP_LOCKDEP) check every acquisition and BUG() with both locks named on a violation.
//
//   wait queues / completions  <  p->pi_lock  <  rq->lock (by CPU)  <  hrtimer base
//   <  cpu_stopper.lock (by CPU)  <  pidmap  <  kthread_create  <  trace  <  printk
//
// Separately: nothing is woken while a cpu_stopper lock is held (try_to_wake_up checks).
#pragma once

#include <cstdint>

#include "cpustop/spinlock.h"

namespace cpustop {

enum lock_class : std::uint16_t {
  LOCK_UNCHECKED = 0,
  LOCK_WAIT_QUEUE,
  LOCK_MUTEX_WAIT,
  LOCK_PI,
  LOCK_RQ,
  LOCK_HRTIMER,
  LOCK_STOPPER,
  LOCK_PIDMAP,
  LOCK_KTHREAD_CREATE,
  LOCK_TRACE,
  LOCK_PRINTK,
  NR_LOCK_CLASSES
};

inline void raw_spin_lock_init(raw_spinlock_t* l, lock_class cls = LOCK_UNCHECKED,
                               std::uint16_t subclass = 0) {
  l->val.store(0, std::memory_order_relaxed);
  l->dep_class = cls;
  l->dep_subclass = subclass;
}

#ifdef CPUSTOP_LOCKDEP
void lockdep_acquire(const raw_spinlock_t* l);
void lockdep_release(const raw_spinlock_t* l);
bool lockdep_holds_class(lock_class cls);
void lockdep_assert_held(const raw_spinlock_t* l);
#else
inline void lockdep_acquire(const raw_spinlock_t*) {}
inline void lockdep_release(const raw_spinlock_t*) {}
inline bool lockdep_holds_class(lock_class) {
  return false;
}
inline void lockdep_assert_held(const raw_spinlock_t*) {}
#endif

}  // namespace cpustop
