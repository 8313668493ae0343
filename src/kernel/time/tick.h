// The periodic tick and the clock event device that delivers it.
#pragma once

#include "kernel/percpu.h"

namespace cpustop {

// Starts the clock event device (one OS thread raising ticks and timer interrupts on busy CPUs).
int tick_init();
void tick_exit();
// hrtimer_start() armed a timer expiring at `expires` on cpu: make the device wake in time.
void tick_program_event(int cpu, u64 expires);
// The tick on this CPU (hardirq context): accounting, time slices, load balancing.
void tick_handle_periodic();

}  // namespace cpustop
