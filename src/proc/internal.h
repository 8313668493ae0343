// What the generators of the view share: task snapshots, the kernel's bitmap formats and the
// host's facts. Private to src/proc.
#pragma once

#include <string>

#include "cpustop/proc.h"

namespace cpustop::proc {

// The host's facts (owner, boot time), set at boot.
const proc_host_info& host_info();

// The kernel's "%*pb" and "%*pbl" of a mask nbits wide: hex in comma-separated 32-bit chunks,
// the first as narrow as nbits allows ("ff" for 8 CPUs, "1" for 2), or a CPU list ("0-3,5").
std::string bitmap_hex(const cpumask& m, unsigned nbits);
std::string bitmap_list(const cpumask& m);

// Jiffies (HZ) and nanoseconds to USER_HZ clock ticks.
std::uint64_t jiffies_to_clock_t(std::uint64_t j);
std::uint64_t nsec_to_clock_t(std::uint64_t ns);

// The generators of /proc/<pid>/*; t is a snapshot from task_get_info().
std::string pid_stat(const task_info& t);
std::string pid_status(const task_info& t);
std::string pid_statm(const task_info& t);
std::string pid_comm(const task_info& t);
std::string pid_cmdline(const task_info& t);
std::string pid_environ(const task_info& t);
// 0 or -ESRCH (the task went away).
int pid_sched(pid_t pid, std::string* out);
int pid_schedstat(pid_t pid, std::string* out);

// The machine-wide /proc files.
std::string proc_stat_show();
std::string uptime_show();
std::string loadavg_show();

// /proc/sys/kernel/<name> for a name of sys_kernel_files; false for any other name.
extern const char* const sys_kernel_files[6];
bool sys_kernel_show(std::string_view name, std::string* out);
// sched_rt_period_us and sched_rt_runtime_us take proc_dointvec() text: 0, -EINVAL, -EACCES
// for the read-only ones.
bool sys_kernel_writable(std::string_view name);
int sys_kernel_store(std::string_view name, std::string_view buf);

// /sys/devices/system/cpu: the CPU lists, per-CPU online and topology.
enum class cpu_list { online, offline, possible, present, isolated };
std::string cpu_list_show(cpu_list which);
std::string kernel_max_show();
// cpuN/online: "1\n" or "0\n"; the write follows drivers/base/cpu.c online_store().
std::string cpu_online_show(unsigned cpu);
int cpu_online_store(unsigned cpu, std::string_view buf);
// Whether cpuN/online exists (cpu0, the boot CPU, is not hotpluggable through sysfs, as on x86).
bool cpu_hotpluggable(unsigned cpu);
// cpuN/topology/<name>; false for an unknown name or a CPU without topology (offline).
bool cpu_topology_show(unsigned cpu, std::string_view name, std::string* out);
// The names in cpuN/topology.
const std::vector<std::string>& cpu_topology_names();

}  // namespace cpustop::proc
