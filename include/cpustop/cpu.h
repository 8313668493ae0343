// CPU hotplug of logical CPUs (kernel/cpu.c). A CPU goes up through a fixed sequence of states
// (creating its per-CPU threads, starting it, unparking its threads, activating it for the
// scheduler) and down through the same states in reverse, with the stopper parked and
// take_cpu_down() run inside stop_machine on the dying CPU.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cpustop/cpumask.h"

namespace cpustop {

enum cpuhp_state : int {
  CPUHP_INVALID = -1,
  CPUHP_OFFLINE = 0,
  CPUHP_CREATE_THREADS,
  CPUHP_BP_PREPARE_DYN,
  CPUHP_BP_PREPARE_DYN_END = CPUHP_BP_PREPARE_DYN + 8,
  CPUHP_BRINGUP_CPU,
  CPUHP_AP_OFFLINE,
  CPUHP_AP_SCHED_STARTING,
  CPUHP_AP_STARTING_DYN,
  CPUHP_AP_STARTING_DYN_END = CPUHP_AP_STARTING_DYN + 4,
  CPUHP_AP_ONLINE,
  CPUHP_TEARDOWN_CPU,
  CPUHP_AP_ONLINE_IDLE,
  CPUHP_AP_SCHED_WAIT_EMPTY,
  CPUHP_AP_SMPBOOT_THREADS,
  CPUHP_AP_ONLINE_DYN,
  CPUHP_AP_ONLINE_DYN_END = CPUHP_AP_ONLINE_DYN + 16,
  CPUHP_AP_ACTIVE,
  CPUHP_ONLINE,
};

// Brings cpu online. May sleep. 0; -EINVAL if cpu is not a possible CPU or already online (or
// not booted); the error of a failing startup callback, after rolling the CPU back to offline.
int cpu_up(unsigned int cpu);
// Takes cpu offline. Tasks on it move to other allowed CPUs; a task allowed only there loses its
// affinity ("process N (comm) no longer affine to cpuX"). May sleep. 0; -EINVAL if not possible
// or already offline; -EBUSY for the last online CPU; the error of a failing teardown callback,
// after rolling the CPU back online.
int cpu_down(unsigned int cpu);

using cpuhp_callback = std::function<int(unsigned int cpu)>;
// Installs callbacks for a state. With CPUHP_BP_PREPARE_DYN, CPUHP_AP_STARTING_DYN or
// CPUHP_AP_ONLINE_DYN a free slot in that range is taken. startup runs now for every online CPU
// (in CPU order) and later for each CPU coming up; teardown for each CPU going down. Startup and
// STARTING callbacks run on the CPU concerned for AP_STARTING states, else on the control task.
// Returns the state (dynamic ranges) or 0; -ENOSPC, -EBUSY (state taken), -EINVAL, or the error
// of a startup, after tearing down the CPUs already done.
int cpuhp_setup_state(cpuhp_state state, const std::string& name, cpuhp_callback startup,
                      cpuhp_callback teardown);
// Removes a state, running teardown for every online CPU (reverse order). 0 or -EINVAL.
int cpuhp_remove_state(int state);

// Holds hotplug off (readers nest across tasks, not within one). May sleep.
void cpus_read_lock();
void cpus_read_unlock();

bool cpu_online(int cpu);
bool cpu_active(int cpu);
unsigned num_online_cpus();
cpumask cpu_online_mask_snapshot();
cpumask cpu_active_mask_snapshot();
// The hotplug state cpu is in, or CPUHP_INVALID.
int cpuhp_get_state(unsigned cpu);
// The name of a state ("sched:active", "smpboot/threads:online", ...), empty if unused.
std::string cpuhp_state_name(int state);

}  // namespace cpustop
