// Hotplug internals: bring-up from smp_init, the AP side, the hotplug lock.
#pragma once

#include "cpustop/cpu.h"
#include "kernel/locking/percpu-rwsem.h"
#include "kernel/percpu.h"

namespace cpustop {

struct task_struct;

void cpuhp_init();
void cpuhp_exit();
// smp_init(): brings up every possible CPU but the boot CPU.
void smp_init();
// The AP's side of bring-up, on its own thread; returns when the CPU has gone offline.
void start_secondary(unsigned cpu);
// Boot CPU: mark online/active/present without a bring-up.
void boot_cpu_init(unsigned cpu);
// cpu_thread_main: the OS thread of every logical CPU.
void cpu_thread_main(unsigned cpu);
// Ask the secondary CPU threads that wait for a bring-up to exit (machine halt).
void cpuhp_release_waiting_cpus();
// cpuhp/N, each CPU's hotplug thread (smpboot), which runs the AP online states: created on
// every online CPU and with each CPU that comes up; stopped at halt.
int cpuhp_threads_init();
void cpuhp_threads_exit();
// The hotplug lock: cpus_read_lock() (cpustop/cpu.h) and cpus_write_lock() take it.
extern percpu_rw_semaphore cpu_hotplug_lock;
void cpus_write_lock();
void cpus_write_unlock();
void lockdep_assert_cpus_held();
// The idle task of cpu (swapper/N), and setting the boot CPU's before start_kernel.
task_struct* idle_task(unsigned cpu);
void set_idle_task(unsigned cpu, task_struct* idle);
// The idle loop of this CPU (the kernel's cpu_startup_entry); returns when the CPU went offline or
// the machine halts.
void cpu_startup_entry();
// CPUs taken offline / brought online since boot (SYSTEM_RUNNING).
extern std::atomic<u64> hotplug_offline_count, hotplug_online_count;
// True from the start of a down walk of cpu until its next up walk (the kernel's cpu_dying_mask).
bool cpu_dying(int cpu);

}  // namespace cpustop
