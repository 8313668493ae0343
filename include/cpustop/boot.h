// Booting and halting the cpustop "machine": the logical CPUs, the scheduler, the per-CPU
// kernel threads and the initcalls, in the kernel's order (start_kernel -> rest_init ->
// kernel_init -> kernel_init_freeable -> do_pre_smp_initcalls -> smp_init -> do_initcalls).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cpustop {

enum class preempt_model { none, voluntary, full };
enum class idle_mode { halt, poll };
// When cpu_stop_init runs: as an early initcall before SMP bring-up (Linux), or as a plain call
// from kernel_init after every CPU is online, unparking the stoppers by hand (LegoOS).
enum class stop_init_order { linux_order, lego_order };

// The kernel's initcall levels, in the order do_initcalls() runs them. `early` runs from
// do_pre_smp_initcalls(), before the secondary CPUs are up.
enum class initcall_level {
  early,
  pure,
  core,
  core_sync,
  postcore,
  postcore_sync,
  arch,
  arch_sync,
  subsys,
  subsys_sync,
  fs,
  fs_sync,
  rootfs,
  device,
  device_sync,
  late,
  late_sync,
};
const char* initcall_level_name(initcall_level level);

struct initcall {
  initcall_level level;
  std::string name;
  std::function<int()> fn;  // runs in kernel_init (pid 1); a non-zero result is logged
};

struct boot_params {
  unsigned nr_cpus = 0;  // logical CPUs (nr_cpu_ids); 0 means the hardware CPUs we may use
  preempt_model preempt = preempt_model::voluntary;
  idle_mode idle = idle_mode::halt;
  unsigned hz = 1000;  // tick rate, 100..10000
  stop_init_order stop_init = stop_init_order::linux_order;
  bool pin = true;       // pin each CPU thread to a hardware CPU when nr_cpus fits the hardware
  bool console = false;  // also print kernel log lines to stderr as they are logged
  // Synthetic topology for load balancing, "smt=2,llc=4,numa=1" (CPUs per core, cores per
  // cache, caches per node); empty: the hardware's, from hwloc, when nr_cpus fits it.
  std::string topology;
  std::vector<initcall> initcalls;  // extra initcalls for this boot, after the registered ones
};

// Boots the machine and returns once kernel_init has run every initcall (system_state is
// RUNNING). Called from a thread that is not a cpustop CPU. Returns 0, -EBUSY if already booted,
// -EINVAL for bad parameters (nr_cpus > NR_CPUS, hz out of range, bad topology), or -EPERM from
// inside a cpustop task; on these failures nothing was started. If the host cannot create the
// CPU threads the machine panics (a half-started boot cannot be undone).
int boot(const boot_params& params = {});

// Halts the machine: stops the kernel threads, takes the CPUs down, joins their OS threads and
// frees everything. Every task that boot()'s caller spawned must have exited and been joined or
// detached first; otherwise returns -EBUSY and logs the tasks still alive. -EDEADLK from inside
// a cpustop task, -ENODEV when not booted. -EFAULT when task_structs leaked (the machine is
// halted all the same, and a WARN names the count).
int shutdown();

bool booted();
const boot_params& boot_parameters();
// The number of logical CPUs of the running boot (0 when not booted).
unsigned nr_cpu_ids();

// Registers an initcall for every later boot. Call before boot().
void register_initcall(initcall_level level, std::string name, std::function<int()> fn);

// The kernel log of the current (or last) boot, "[    0.000123] message" per line.
std::string dmesg();
// Appends a line to the kernel log (printk). Any context.
void printk(const std::string& line);

}  // namespace cpustop
