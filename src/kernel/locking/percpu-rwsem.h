// The sleeping reader-writer semaphore of CPU hotplug (the kernel's include/linux/percpu-rwsem.h):
// readers nest across tasks and share it; a writer waits for the readers inside to leave, and
// from the moment it asks (percpu_is_write_locked()) no new reader gets in. Readers and writers
// sleep (task context, or a thread outside cpustop); not recursive for a writer. The kernel
// keeps the reader count per CPU to make readers cheap; here one count under a spin lock will
// do, as readers are set-up paths (stop_machine(), cpuhp_setup_state()).
#pragma once

#include "cpustop/wait.h"
#include "kernel/locking/spinlock.h"

namespace cpustop {

struct percpu_rw_semaphore {
  raw_spinlock_t lock{0, LOCK_UNCHECKED, 0};
  int readers = 0;          // inside
  int writers_waiting = 0;  // asked, waiting for the readers to leave
  bool writer = false;      // inside
  wait_queue_head wq;
};

void percpu_init_rwsem(percpu_rw_semaphore* sem);
void percpu_down_read(percpu_rw_semaphore* sem);
void percpu_up_read(percpu_rw_semaphore* sem);
void percpu_down_write(percpu_rw_semaphore* sem);
void percpu_up_write(percpu_rw_semaphore* sem);
// A writer is inside or waiting to get in: new readers block.
bool percpu_is_write_locked(percpu_rw_semaphore* sem);
// Someone (a reader or the writer) holds it; WARNs otherwise.
void percpu_rwsem_assert_held(percpu_rw_semaphore* sem);

}  // namespace cpustop
