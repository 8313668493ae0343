// Kernel-thread internals shared with smpboot and hotplug.
#pragma once

#include <atomic>

#include "cpustop/kthread.h"
#include "kernel/task.h"

namespace cpustop {

enum : unsigned {
  KTHREAD_IS_PER_CPU = 1u << 0,
  KTHREAD_SHOULD_STOP = 1u << 1,
  KTHREAD_SHOULD_PARK = 1u << 2,
};

struct kthread {
  std::atomic<unsigned> flags{0};
  unsigned cpu = 0;
  int result = 0;
  int (*threadfn)(void*) = nullptr;
  void* data = nullptr;
  completion parked;
  completion exited;
};

inline kthread* to_kthread(task_struct* p) {
  return p->kthread_data;
}
void kthread_set_per_cpu(task_struct* k, int cpu);
bool kthread_is_per_cpu(task_struct* p);

// kthreadd, pid 2: creates kernel threads on request.
int kthreadd(void*);
extern task_struct* kthreadd_task;
// Asks kthreadd to exit (machine halt), waiting for it.
void kthreadd_stop();
// Creates a kthread directly, without kthreadd (rest_init uses it for pid 1 and pid 2).
task_struct* kernel_thread(int (*fn)(void*), void* arg, const char* name, int* err);

}  // namespace cpustop
