// Preemption, interrupt and migration control for code running on cpustop's CPUs.
//
// The preemption model is chosen at boot (boot_params::preempt):
//   none       a task runs until it blocks, yields or calls cond_resched().
//   voluntary  in addition, every call into cpustop is a preemption point: preempt_enable(),
//              lock releases, wakeups, spawn, and so on.
//   full       in addition, a task running its own code is preempted asynchronously: the CPU's
//              thread is signalled and switches tasks from the signal handler, but only when
//              preempt_count() == 0, interrupts are on, and the interrupted instruction is in
//              the application's own code (never inside libc, libstdc++ or another shared
//              object). Declined preemptions are retried at the next tick.
//
// What task code may do under each model:
//   - Under every model, a task must not block its CPU's OS thread for long (read(2), sleep(3),
//     std::mutex contention, std::condition_variable): the whole logical CPU stops. Use
//     cpustop's msleep(), mutex, completion and wait queues instead.
//   - Under voluntary, do not call into cpustop while holding an OS-level lock (std::mutex,
//     pthread_mutex_t): you may be switched out holding it, and the next task on that CPU may
//     deadlock on it.
//   - Under full, the same holds for *any* code that holds an OS-level lock: bracket such
//     regions with preempt_disable()/preempt_enable(), or use cpustop::mutex.
//   - thread_local variables belong to the logical CPU, not to the task; a task can see another
//     CPU's copy after any preemption point. Keep per-task state in the task.
#pragma once

namespace cpustop {

// Preemption and migration of the calling task are disabled until the matching
// preempt_enable(); nests. Deferred interrupts (ticks, IPIs) run at the outermost enable.
// Outside a cpustop CPU these only count.
void preempt_disable();
// Under voluntary and full, the outermost enable is a preemption point.
void preempt_enable();
// Enables without a preemption point (a resched request stays pending).
void preempt_enable_no_resched();
// Nesting depth of preempt_disable(), spin locks and interrupt context for the caller.
int preempt_count();
bool preemptible();

// Interrupt processing (ticks, timers, IPIs) on this CPU is deferred while disabled.
void local_irq_disable();
void local_irq_enable();
unsigned long local_irq_save();
void local_irq_restore(unsigned long flags);
bool irqs_disabled();

// True in a task's ordinary context (not interrupt or softirq handling, not the idle task, not
// a thread outside cpustop).
bool in_task();
bool in_interrupt();

// The calling task stays on its current CPU until the matching migrate_enable() (nests), while
// remaining preemptible. An affinity change that excludes this CPU completes at the outermost
// migrate_enable(). Task context only; elsewhere a no-op.
void migrate_disable();
void migrate_enable();

}  // namespace cpustop
