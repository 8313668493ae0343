// The hotplug lock's semaphore (kernel/locking/percpu-rwsem.c): a wait queue and counts under a
// spin lock; every waiter re-checks under that lock.
#include "kernel/locking/percpu-rwsem.h"

#include "kernel/bug.h"

namespace cpustop {

namespace {

template <class Try>
void percpu_rwsem_wait(percpu_rw_semaphore* sem, Try try_take) {
  wait_event(sem->wq, [&] {
    spin_irqsave_guard g(&sem->lock);
    return try_take();
  });
}

}  // namespace

void percpu_init_rwsem(percpu_rw_semaphore* sem) {
  init_waitqueue_head(&sem->wq);
  sem->readers = sem->writers_waiting = 0;
  sem->writer = false;
}

void percpu_down_read(percpu_rw_semaphore* sem) {
  percpu_rwsem_wait(sem, [sem] {
    if (sem->writer || sem->writers_waiting) return false;
    sem->readers++;
    return true;
  });
}

void percpu_up_read(percpu_rw_semaphore* sem) {
  bool wake;
  {
    spin_irqsave_guard g(&sem->lock);
    wake = --sem->readers == 0;
  }
  if (wake) wake_up_all(&sem->wq);
}

void percpu_down_write(percpu_rw_semaphore* sem) {
  {
    spin_irqsave_guard g(&sem->lock);
    sem->writers_waiting++;
  }
  percpu_rwsem_wait(sem, [sem] {
    if (sem->writer || sem->readers) return false;
    sem->writer = true;
    sem->writers_waiting--;
    return true;
  });
}

void percpu_up_write(percpu_rw_semaphore* sem) {
  {
    spin_irqsave_guard g(&sem->lock);
    sem->writer = false;
  }
  wake_up_all(&sem->wq);
}

bool percpu_is_write_locked(percpu_rw_semaphore* sem) {
  spin_irqsave_guard g(&sem->lock);
  return sem->writer || sem->writers_waiting;
}

void percpu_rwsem_assert_held(percpu_rw_semaphore* sem) {
  bool held;
  {
    spin_irqsave_guard g(&sem->lock);
    held = sem->writer || sem->readers;
  }
  WARN_ON_ONCE(!held);
}

}  // namespace cpustop
