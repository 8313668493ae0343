// Wait-queue internals shared by completions, mutexes and kthreads.
#pragma once

#include "cpustop/wait.h"
#include "kernel/sched/sched.h"

namespace cpustop {

// The current task if it can sleep in the scheduler, else nullptr (idle task, outside threads).
task_struct* schedulable_current();
// With wq->lock held: queue the entry if needed and set the sleeping state.
void prepare_to_wait_locked(wait_queue_head* wq, wait_queue_entry* wqe, unsigned state);
void __wake_up_locked(wait_queue_head* wq, unsigned mode, int nr_exclusive);
void __wake_up(wait_queue_head* wq, unsigned mode, int nr_exclusive);

}  // namespace cpustop
