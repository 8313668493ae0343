// Initcalls (include/linux/init.h) and the boot entry points of init/main.c.
#pragma once

#include <functional>
#include <string>

#include "cpustop/boot.h"

namespace cpustop {

void start_kernel();
// Runs one initcall with the kernel's initcall_debug lines and checks for a leaked preempt
// count or interrupts left off.
int do_one_initcall(const std::string& name, const std::function<int()>& fn);
// The early level, from kernel_init before SMP bring-up.
void do_pre_smp_initcalls();
// Every other level, in order, from do_basic_setup().
void do_initcalls();
// Validates a boot_params::topology string for nr CPUs.
bool topology_params_valid(const std::string& topology, unsigned nr);

}  // namespace cpustop
