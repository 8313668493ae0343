// Kernel threads (kernel/kthread.c): tasks created through kthreadd (pid 2), shown in brackets
// by ps, optionally bound to one CPU, parked and unparked by CPU hotplug.
#pragma once

#include <sys/types.h>

namespace cpustop {

struct task_struct;

// Creates a kernel thread running threadfn(data), named name (printf-style %u gets cpu for the
// _on_cpu form). The thread starts asleep: wake it with wake_up_process() or kthread_unpark().
// May sleep (it asks kthreadd). Returns the task, or nullptr (*err: -ENOMEM, -EAGAIN, -ENODEV).
task_struct* kthread_create(int (*threadfn)(void* data), void* data, const char* name,
                            int* err = nullptr);
// As kthread_create, bound to cpu (which need not be online yet) and marked per-CPU, so that
// hotplug parks it while cpu is offline and re-binds it on unpark.
task_struct* kthread_create_on_cpu(int (*threadfn)(void* data), void* data, unsigned cpu,
                                   const char* namefmt, int* err = nullptr);
// Binds a not-yet-running kthread to cpu.
void kthread_bind(task_struct* k, unsigned cpu);
// Wakes p if it sleeps in TASK_INTERRUPTIBLE or TASK_UNINTERRUPTIBLE (not parked, not stopped):
// it becomes runnable on a CPU it may use. Returns 1 if p was woken, 0 if it was not asleep in
// such a state. Any context, including interrupts and stop functions, except with a cpu_stopper
// lock held (lockdep panics). Does not sleep.
int wake_up_process(task_struct* p);

// Inside a kthread: whether kthread_stop() / kthread_park() was called on it.
bool kthread_should_stop();
bool kthread_should_park();
// Parks the calling kthread (TASK_PARKED) until kthread_unpark().
void kthread_parkme();

// Asks k to park and, for another task, waits until it is parked and off its CPU. May sleep.
// 0; -ENOSYS if k is exiting; -EBUSY if it is already parked or parking.
int kthread_park(task_struct* k);
// Re-binds a per-CPU k to its CPU, clears the park request and wakes it.
void kthread_unpark(task_struct* k);
// Stops k: sets should-stop, unparks and wakes it, waits for threadfn to return and returns its
// result. May sleep.
int kthread_stop(task_struct* k);

}  // namespace cpustop
