// Sleeping primitives: wait queues, completions and a sleeping mutex, as in the kernel.
//
// All of them also work from threads outside cpustop (those block the OS thread), so that a
// program can wait for its tasks. From a task they sleep in the scheduler's sense: the CPU runs
// other tasks meanwhile. Waiting is a bug in atomic context (preemption disabled, a stop
// function): it is reported as "BUG: sleeping function called from invalid context".
#pragma once

#include <atomic>
#include <cstdint>

#include "cpustop/list.h"
#include "cpustop/spinlock.h"

namespace cpustop {

struct wait_queue_entry;
using wait_queue_func_t = int (*)(wait_queue_entry* wq_entry, unsigned mode, int flags, void* key);

inline constexpr unsigned WQ_FLAG_EXCLUSIVE = 0x01;

struct wait_queue_entry {
  unsigned flags = 0;
  void* private_ = nullptr;  // the waiting task
  wait_queue_func_t func = nullptr;
  list_head entry;
  std::atomic<std::uint32_t> woken{0};  // for waiters outside cpustop
};

struct wait_queue_head {
  raw_spinlock_t lock;
  list_head head;
};

void init_waitqueue_head(wait_queue_head* wq);
void init_wait_entry(wait_queue_entry* wq_entry, unsigned flags);
// The pieces of wait_event (for code that cannot use it). Any context that may sleep next.
// Queues the entry (if not queued) and sets the caller's state; returns 0.
long prepare_to_wait_event(wait_queue_head* wq, wait_queue_entry* wq_entry, unsigned state);
// Sleeps until woken (schedule() in a task; a futex wait elsewhere).
void wait_event_sleep(wait_queue_entry* wq_entry);
// As above, at most timeout_ns; returns the time left (0 when it timed out).
std::int64_t wait_event_sleep_timeout(wait_queue_entry* wq_entry, std::int64_t timeout_ns);
// Sets the caller running again and unqueues the entry. Does not sleep.
void finish_wait(wait_queue_head* wq, wait_queue_entry* wq_entry);

// Wakes waiters: all non-exclusive ones and up to one exclusive. Any context.
void wake_up(wait_queue_head* wq);
void wake_up_all(wait_queue_head* wq);
// True if somebody waits on wq. Lockless: the caller orders it with the condition it changed.
bool waitqueue_active(wait_queue_head* wq);

inline constexpr unsigned TASK_UNINTERRUPTIBLE_WAIT = 0x0002;

// Sleeps until cond() is true; cond is re-evaluated after every wakeup. May sleep: from a task
// (not in atomic context) or a thread outside cpustop. cond must not sleep.
template <class Cond>
void wait_event(wait_queue_head& wq, Cond cond) {
  if (cond()) return;
  wait_queue_entry wqe;
  init_wait_entry(&wqe, 0);
  for (;;) {
    prepare_to_wait_event(&wq, &wqe, TASK_UNINTERRUPTIBLE_WAIT);
    if (cond()) break;
    wait_event_sleep(&wqe);
  }
  finish_wait(&wq, &wqe);
}

// As wait_event, for at most timeout_ns (<= 0: only look). Returns true if cond() became true.
// May sleep.
template <class Cond>
bool wait_event_timeout(wait_queue_head& wq, Cond cond, std::int64_t timeout_ns) {
  if (cond()) return true;
  wait_queue_entry wqe;
  init_wait_entry(&wqe, 0);
  bool ok = false;
  for (;;) {
    prepare_to_wait_event(&wq, &wqe, TASK_UNINTERRUPTIBLE_WAIT);
    if (cond()) {
      ok = true;
      break;
    }
    if (timeout_ns <= 0) break;
    timeout_ns = wait_event_sleep_timeout(&wqe, timeout_ns);
  }
  finish_wait(&wq, &wqe);
  return ok;
}

// struct completion: a count of "done" events with waiters.
struct completion {
  unsigned int done = 0;
  wait_queue_head wait;
};
void init_completion(completion* x);
void reinit_completion(completion* x);
// Wakes one waiter (complete) or all present and future ones (complete_all). Any context,
// including stop functions and interrupt context.
void complete(completion* x);
void complete_all(completion* x);
// Sleeps until x is completed and takes one "done". May sleep: a task or a thread outside cpustop.
void wait_for_completion(completion* x);
// As wait_for_completion, for at most timeout_ns. Returns true if completed, false on timeout.
bool wait_for_completion_timeout(completion* x, std::int64_t timeout_ns);
// Takes one "done" if there is one, without sleeping; true if it did. Any context.
bool try_wait_for_completion(completion* x);
// True if a wait_for_completion() would not sleep. Any context.
bool completion_done(completion* x);

// A sleeping mutex owned by a task (or by a thread outside cpustop). Not recursive. Usable with
// std::lock_guard / std::unique_lock.
struct mutex {
  std::atomic<std::uintptr_t> owner{0};
  wait_queue_head wait;  // FIFO of waiters; its lock is the kernel's wait_lock

  void lock();
  void unlock();
  bool try_lock();
};
void mutex_init(mutex* lock);
// May sleep: not from atomic context, interrupts or stop functions.
void mutex_lock(mutex* lock);
// 1 if taken, 0 if not (the kernel's convention).
int mutex_trylock(mutex* lock);
void mutex_unlock(mutex* lock);
bool mutex_is_locked(mutex* lock);

}  // namespace cpustop
