// Completions (kernel/sched/completion.c).
#include <climits>

#include "kernel/sched/wait.h"

namespace cpustop {

void init_completion(completion* x) {
  x->done = 0;
  init_waitqueue_head(&x->wait);
}

void reinit_completion(completion* x) {
  spin_irqsave_guard g(&x->wait.lock);
  x->done = 0;
}

void complete(completion* x) {
  {
    spin_irqsave_guard g(&x->wait.lock);
    if (x->done != UINT_MAX) x->done++;
    __wake_up_locked(&x->wait, TASK_NORMAL, 1);
  }
  might_resched();
}

void complete_all(completion* x) {
  {
    spin_irqsave_guard g(&x->wait.lock);
    x->done = UINT_MAX;
    __wake_up_locked(&x->wait, TASK_NORMAL, 0);
  }
  might_resched();
}

namespace {

// Returns true if completed. timeout_ns < 0: no timeout.
bool do_wait_for_common(completion* x, std::int64_t timeout_ns) {
  if (schedulable_current()) might_sleep();
  unsigned long flags = __raw_spin_lock_irqsave(&x->wait.lock);
  if (!x->done) {
    wait_queue_entry wqe;
    init_wait_entry(&wqe, WQ_FLAG_EXCLUSIVE);
    u64 deadline = timeout_ns < 0 ? 0 : arch::local_clock() + static_cast<u64>(timeout_ns);
    do {
      // The waker removes the entry: re-add it after a wakeup that found no done.
      prepare_to_wait_locked(&x->wait, &wqe, TASK_UNINTERRUPTIBLE);
      __raw_spin_unlock_irqrestore(&x->wait.lock, flags);
      if (timeout_ns < 0) {
        wait_event_sleep(&wqe);
      } else {
        u64 now = arch::local_clock();
        if (now < deadline)
          wait_event_sleep_timeout(&wqe, static_cast<std::int64_t>(deadline - now));
      }
      flags = __raw_spin_lock_irqsave(&x->wait.lock);
    } while (!x->done && (timeout_ns < 0 || arch::local_clock() < deadline));
    if (!list_empty(&wqe.entry)) list_del_init(&wqe.entry);
    if (wqe.private_) __set_current_state(TASK_RUNNING);
  }
  bool ok = x->done != 0;
  if (ok && x->done != UINT_MAX) x->done--;
  __raw_spin_unlock_irqrestore(&x->wait.lock, flags);
  return ok;
}

}  // namespace

void wait_for_completion(completion* x) {
  do_wait_for_common(x, -1);
}

bool wait_for_completion_timeout(completion* x, std::int64_t timeout_ns) {
  return do_wait_for_common(x, std::max<std::int64_t>(timeout_ns, 0));
}

bool try_wait_for_completion(completion* x) {
  spin_irqsave_guard g(&x->wait.lock);
  if (!x->done) return false;
  if (x->done != UINT_MAX) x->done--;
  return true;
}

bool completion_done(completion* x) {
  spin_irqsave_guard g(&x->wait.lock);
  return x->done != 0;
}

}  // namespace cpustop
