// The scheduler's CPU hotplug callbacks (the kernel's include/linux/sched/hotplug.h), which the
// hotplug state table in kernel/cpu.cpp runs. Each returns 0 or a negative errno.
#pragma once

namespace cpustop {

int sched_cpu_starting(unsigned cpu);    // STARTING, on the booting CPU, interrupts off
int sched_cpu_activate(unsigned cpu);    // the CPU takes new work (cpu_active_mask)
int sched_cpu_deactivate(unsigned cpu);  // no new work goes to the CPU
int sched_cpu_wait_empty(unsigned cpu);  // tasks that disabled migration leave it
int sched_cpu_dying(unsigned cpu);       // DYING, on the dying CPU in stop_machine: vacate it

}  // namespace cpustop
