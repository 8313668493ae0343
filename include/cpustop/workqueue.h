// A per-CPU workqueue (kernel/workqueue.c, the system_wq's bound pools): work items run in task
// context, one at a time per CPU, by that CPU's kworker/N:0 thread. Work may sleep.
#pragma once

#include <atomic>

#include "cpustop/list.h"

namespace cpustop {

struct work_struct;
using work_func_t = void (*)(work_struct* work);

struct work_struct {
  list_head entry;
  work_func_t func = nullptr;
  std::atomic<unsigned long> data{0};  // pending bit and the CPU it was queued on
};

inline void INIT_WORK(work_struct* work, work_func_t func) {
  INIT_LIST_HEAD(&work->entry);
  work->func = func;
  work->data.store(0, std::memory_order_relaxed);
}

// Queues work on cpu's kworker. Any context. Returns false if it was already pending (it then
// runs once), or if cpu is invalid or offline.
bool queue_work_on(int cpu, work_struct* work);
// Queues on the calling CPU (CPU 0 from outside cpustop).
bool schedule_work(work_struct* work);
// Waits until the last queueing of work has finished running. May sleep. Returns true if it
// had to wait.
bool flush_work(work_struct* work);
bool work_pending(const work_struct* work);

}  // namespace cpustop
