// Interrupts between logical CPUs: send_ipi() and what the target runs when it takes them.
#pragma once

#include "kernel/percpu.h"

namespace cpustop {

// Raises `reason` (IRQ_* bits) on cpu and makes sure it notices: a futex wake if its idle loop
// is halted, nothing more if it polls, and under preempt=full a thread signal if it runs a task.
// Any context.
void send_ipi(int cpu, u32 reason);
inline void smp_send_reschedule(int cpu) {
  send_ipi(cpu, IRQ_RESCHEDULE);
}

// Brings a halted idle CPU back to polling (no interrupt raised), so that work about to be
// sent to it finds it awake: the futex wake overlaps the sender's own work.
void wake_up_idle_cpu(int cpu);

// Raises `reason` on a CPU that is running something, for the clock event device: halted CPUs
// are left alone (they wake for their own timers). signal: under preempt=full, interrupt the
// running task now rather than at its next preemption point.
void raise_irq_busy(int cpu, u32 reason, bool signal);

// Installs the asynchronous interrupt entry (preempt=full).
void irq_init();
void irq_exit_cleanup();

}  // namespace cpustop
