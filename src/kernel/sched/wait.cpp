// Wait queues (kernel/sched/wait.c). An entry wakes either a task (try_to_wake_up) or, for a
// thread outside cpustop or an idle task that cannot schedule, a futex word in the entry.
#include "kernel/sched/wait.h"

#include "kernel/time/hrtimer.h"

namespace cpustop {

namespace {

int autoremove_wake_function(wait_queue_entry* wqe, unsigned mode, int, void*) {
  int ret = try_to_wake_up(static_cast<task_struct*>(wqe->private_), mode, 0);
  if (ret) list_del_init(&wqe->entry);
  return ret;
}

int external_wake_function(wait_queue_entry* wqe, unsigned, int, void*) {
  list_del_init(&wqe->entry);
  wqe->woken.store(1, std::memory_order_release);
  cond_wake(&wqe->woken, 1);
  return 1;
}

}  // namespace

task_struct* schedulable_current() {
  task_struct* p = get_current();
  return p && !is_idle_task(p) ? p : nullptr;
}

void init_waitqueue_head(wait_queue_head* wq) {
  raw_spin_lock_init(&wq->lock, LOCK_WAIT_QUEUE);
  INIT_LIST_HEAD(&wq->head);
}

void init_wait_entry(wait_queue_entry* wqe, unsigned flags) {
  wqe->flags = flags;
  wqe->private_ = schedulable_current();
  wqe->func = wqe->private_ ? autoremove_wake_function : external_wake_function;
  wqe->woken.store(0, std::memory_order_relaxed);
  INIT_LIST_HEAD(&wqe->entry);
}

void prepare_to_wait_locked(wait_queue_head* wq, wait_queue_entry* wqe, unsigned state) {
  if (list_empty(&wqe->entry)) {
    if (wqe->flags & WQ_FLAG_EXCLUSIVE)
      list_add_tail(&wqe->entry, &wq->head);
    else
      list_add(&wqe->entry, &wq->head);
  }
  if (wqe->private_)
    set_current_state(state);
  else
    wqe->woken.store(0, std::memory_order_relaxed);
}

long prepare_to_wait_event(wait_queue_head* wq, wait_queue_entry* wqe, unsigned state) {
  spin_irqsave_guard g(&wq->lock);
  prepare_to_wait_locked(wq, wqe, state);
  return 0;
}

void wait_event_sleep(wait_queue_entry* wqe) {
  if (wqe->private_) {
    schedule();
    return;
  }
  while (!wqe->woken.load(std::memory_order_acquire)) cond_block(&wqe->woken, 0u, COND_FOREVER);
}

std::int64_t wait_event_sleep_timeout(wait_queue_entry* wqe, std::int64_t timeout_ns) {
  u64 deadline = arch::local_clock() + static_cast<u64>(std::max<std::int64_t>(timeout_ns, 0));
  if (wqe->private_) {
    hrtimer_sleeper t;
    hrtimer_init_sleeper(&t, static_cast<task_struct*>(wqe->private_));
    hrtimer_start(&t.timer, deadline);
    if (t.task.load(std::memory_order_acquire)) schedule();
    hrtimer_cancel(&t.timer);
  } else {
    while (!wqe->woken.load(std::memory_order_acquire)) {
      u64 now = arch::local_clock();
      if (now >= deadline) break;
      cond_block(&wqe->woken, 0u, static_cast<std::int64_t>(deadline - now));
    }
  }
  u64 now = arch::local_clock();
  return now >= deadline ? 0 : static_cast<std::int64_t>(deadline - now);
}

void finish_wait(wait_queue_head* wq, wait_queue_entry* wqe) {
  if (wqe->private_) __set_current_state(TASK_RUNNING);
  spin_irqsave_guard g(&wq->lock);
  if (!list_empty(&wqe->entry)) list_del_init(&wqe->entry);
}

void __wake_up_locked(wait_queue_head* wq, unsigned mode, int nr_exclusive) {
  wait_queue_entry *curr, *next;
  list_for_each_entry_safe(curr, next, &wq->head, entry) {
    unsigned flags = curr->flags;
    int ret = curr->func(curr, mode, 0, nullptr);
    if (ret && (flags & WQ_FLAG_EXCLUSIVE) && !--nr_exclusive) break;
  }
}

void __wake_up(wait_queue_head* wq, unsigned mode, int nr_exclusive) {
  {
    spin_irqsave_guard g(&wq->lock);
    __wake_up_locked(wq, mode, nr_exclusive);
  }
  might_resched();
}

void wake_up(wait_queue_head* wq) {
  __wake_up(wq, TASK_NORMAL, 1);
}
void wake_up_all(wait_queue_head* wq) {
  __wake_up(wq, TASK_NORMAL, 0);
}

bool waitqueue_active(wait_queue_head* wq) {
  spin_irqsave_guard g(&wq->lock);
  return !list_empty(&wq->head);
}

}  // namespace cpustop
