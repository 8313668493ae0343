// smpboot internals: the hotplug states call these for a CPU coming up or going down.
#pragma once

#include "cpustop/smpboot.h"

namespace cpustop {

// CPUHP_CREATE_THREADS: create (parked) every registered thread for cpu.
int smpboot_create_threads(unsigned cpu);
// CPUHP_AP_SMPBOOT_THREADS: unpark them (in registration order) / park them (in reverse).
int smpboot_unpark_threads(unsigned cpu);
int smpboot_park_threads(unsigned cpu);
// The thread-status machine of one per-CPU thread.
enum class hp_thread_status { none, active, parked };
const char* hp_thread_status_name(hp_thread_status s);

}  // namespace cpustop
