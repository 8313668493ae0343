// Stopper internals used by hotplug, boot and the scheduler.
#pragma once

#include "cpustop/stop_machine.h"

namespace cpustop {

// early_initcall (Linux order) or a plain call from kernel_init (LegoOS order).
int cpu_stop_init();
// At halt: stops every stopper thread and frees the stoppers.
void cpu_stop_exit();
// Disables cpu's stopper and parks it (called by the stopper itself from take_cpu_down).
void stop_machine_park(int cpu);
// Enables cpu's stopper and unparks it (from the AP before its idle loop).
void stop_machine_unpark(int cpu);
bool stop_machine_ready();
// Waits until every online CPU has left the preempt-disabled region it is in (each runs its
// stopper once), so that data unpublished before the call has no readers left: the kernel's
// synchronize_sched(). May sleep. cpuslocked: the caller holds the hotplug lock. Returns false
// (having waited for nothing) before the stopper exists.
bool synchronize_sched(bool cpuslocked = false);
bool cpu_stopper_enabled(int cpu);
task_struct* cpu_stopper_task(int cpu);
// Works cpu's stopper has run since boot.
unsigned long cpu_stop_works_done(unsigned cpu);

}  // namespace cpustop
