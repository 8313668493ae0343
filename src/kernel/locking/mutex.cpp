// A sleeping mutex (kernel/locking/mutex.c, without optimistic spinning): an owner word with a
// waiters flag, and a FIFO of waiters under wait_lock. Unlock wakes the first waiter, which
// competes for the lock again.
#include "kernel/sched/wait.h"

namespace cpustop {

namespace {

constexpr std::uintptr_t MUTEX_FLAG_WAITERS = 0x01;

std::uintptr_t owner_id() {
  return reinterpret_cast<std::uintptr_t>(current_thread_info());
}

bool mutex_trylock_fast(mutex* lock) {
  std::uintptr_t expected = 0;
  return lock->owner.compare_exchange_strong(expected, owner_id(), std::memory_order_acquire,
                                             std::memory_order_relaxed);
}

void mutex_lock_slowpath(mutex* lock) {
  wait_queue_head* q = &lock->wait;
  unsigned long flags = __raw_spin_lock_irqsave(&q->lock);
  wait_queue_entry wqe;
  init_wait_entry(&wqe, WQ_FLAG_EXCLUSIVE);
  for (;;) {
    std::uintptr_t owner = lock->owner.load(std::memory_order_relaxed);
    if ((owner & ~MUTEX_FLAG_WAITERS) == 0) {
      if (!list_empty(&wqe.entry)) list_del_init(&wqe.entry);
      std::uintptr_t mine = owner_id() | (list_empty(&q->head) ? 0 : MUTEX_FLAG_WAITERS);
      if (lock->owner.compare_exchange_strong(owner, mine, std::memory_order_acquire)) break;
      continue;
    }
    if (!(owner & MUTEX_FLAG_WAITERS) &&
        !lock->owner.compare_exchange_strong(owner, owner | MUTEX_FLAG_WAITERS,
                                             std::memory_order_relaxed))
      continue;
    prepare_to_wait_locked(q, &wqe, TASK_UNINTERRUPTIBLE);
    __raw_spin_unlock_irqrestore(&q->lock, flags);
    wait_event_sleep(&wqe);
    flags = __raw_spin_lock_irqsave(&q->lock);
  }
  if (wqe.private_) __set_current_state(TASK_RUNNING);
  __raw_spin_unlock_irqrestore(&q->lock, flags);
}

}  // namespace

void mutex_init(mutex* lock) {
  lock->owner.store(0, std::memory_order_relaxed);
  init_waitqueue_head(&lock->wait);
  lock->wait.lock.dep_class = LOCK_MUTEX_WAIT;
}

void mutex_lock(mutex* lock) {
  if (schedulable_current()) might_sleep();
  if (!mutex_trylock_fast(lock)) mutex_lock_slowpath(lock);
}

int mutex_trylock(mutex* lock) {
  return mutex_trylock_fast(lock) ? 1 : 0;
}

void mutex_unlock(mutex* lock) {
  std::uintptr_t old = lock->owner.exchange(0, std::memory_order_release);
  if (old & MUTEX_FLAG_WAITERS) {
    spin_irqsave_guard g(&lock->wait.lock);
    if (!list_empty(&lock->wait.head)) {
      wait_queue_entry* first = list_first_entry(&lock->wait.head, wait_queue_entry, entry);
      first->func(first, TASK_NORMAL, 0, nullptr);
    }
  }
  might_resched();
}

bool mutex_is_locked(mutex* lock) {
  return lock->owner.load(std::memory_order_relaxed) != 0;
}

void mutex::lock() {
  mutex_lock(this);
}
void mutex::unlock() {
  mutex_unlock(this);
}
bool mutex::try_lock() {
  return mutex_trylock(this) == 1;
}

}  // namespace cpustop
