// /proc/<pid>/stat, status and statm (fs/proc/array.c): the kernel's fields in the kernel's order.
// Each task is a thread group of its own. The tasks share the machine's process, so the memory
// fields are those of a task without an mm (0), as for the kernel's threads.
#include <fmt/format.h>

#include "cpustop/boot.h"
#include "kernel/sched/topology.h"
#include "kernel/task.h"
#include "proc/internal.h"

namespace cpustop::proc {

namespace {

constexpr unsigned PF_FORKNOEXEC = 0x00000040;  // forked and never exec'ed: true of every task
constexpr int SIGCHLD = 17;                     // exit_signal of every thread-group leader
constexpr std::uint64_t RLIM_INFINITY = ~0ull;

const char* state_name(char c) {
  switch (c) {
    case 'R':
      return "R (running)";
    case 'S':
      return "S (sleeping)";
    case 'D':
      return "D (disk sleep)";
    case 'P':
      return "P (parked)";
    case 'I':
      return "I (idle)";
    case 'Z':
      return "Z (zombie)";
    case 'X':
      return "X (dead)";
  }
  return "R (running)";
}

constexpr unsigned MAX_NUMNODES = 1024;  // CONFIG_NODES_SHIFT=10: Mems_allowed's width

// The machine's NUMA nodes (the packages of its CPUs).
cpumask online_nodes() {
  cpumask nodes = cpumask::of(0);
  cpu_topology_ids ids;
  for (unsigned c = 0; c < nr_cpu_ids(); c++)
    if (topology_cpu_ids(c, &ids)) nodes.set(static_cast<unsigned>(ids.package_id));
  return nodes;
}

bool sleeping(const task_info& t) {
  return t.state != 'R';
}

}  // namespace

std::string pid_stat(const task_info& t) {
  // proc(5) numbering. Field 18 is prio - MAX_RT_PRIO (-100 for FIFO 99, 20 + nice otherwise);
  // 35 (wchan) is 1 while the task sleeps; 38 (exit_signal) SIGCHLD.
  return fmt::format(
      "{} ({}) {} {} {} {} 0 -1 {} 0 0 0 0 {} {} 0 0 {} {} 1 0 {} 0 0 {} 0 0 0 0 0 0 0 {} 0 {} 0 0 "
      "{} {} {} {} 0 0 0 0 0 0 0 0 0 0 0\n",
      t.pid, t.comm, t.state, t.ppid, t.pgrp, t.session, t.flags | PF_FORKNOEXEC,
      jiffies_to_clock_t(t.utime), jiffies_to_clock_t(t.stime), t.prio - MAX_RT_PRIO, t.nice,
      nsec_to_clock_t(t.start_time), RLIM_INFINITY, t.kthread ? 0x7fffffffu : 0u,
      sleeping(t) ? 1 : 0, SIGCHLD, t.cpu, t.rt_priority, t.policy);
}

std::string pid_status(const task_info& t) {
  const proc_host_info& h = host_info();
  unsigned uid = t.kthread ? 0 : h.uid, gid = t.kthread ? 0 : h.gid;
  cpumask nodes = online_nodes();
  const char* caps = uid == 0 ? "000001ffffffffff" : "0000000000000000";
  return fmt::format(
      "Name:\t{0}\nUmask:\t0022\nState:\t{1}\nTgid:\t{2}\nNgid:\t0\nPid:\t{2}\nPPid:\t{3}\n"
      "TracerPid:\t0\nUid:\t{4}\t{4}\t{4}\t{4}\nGid:\t{5}\t{5}\t{5}\t{5}\nFDSize:\t64\nGroups:\t \n"
      "NStgid:\t{2}\nNSpid:\t{2}\nNSpgid:\t{6}\nNSsid:\t{7}\nKthread:\t{8}\nThreads:\t1\n"
      "SigQ:\t0/0\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
      "SigBlk:\t0000000000000000\nSigIgn:\t{9}\nSigCgt:\t0000000000000000\n"
      "CapInh:\t0000000000000000\nCapPrm:\t{10}\nCapEff:\t{10}\nCapBnd:\t000001ffffffffff\n"
      "CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n"
      "Cpus_allowed:\t{11}\nCpus_allowed_list:\t{12}\nMems_allowed:\t{15}\nMems_allowed_list:\t{16}"
      "\n"
      "voluntary_ctxt_switches:\t{13}\nnonvoluntary_ctxt_switches:\t{14}\n",
      t.comm, state_name(t.state), t.pid, t.ppid, uid, gid, t.pgrp, t.session, t.kthread ? 1 : 0,
      t.kthread ? "ffffffffffffffff" : "0000000000000000", caps,
      bitmap_hex(t.cpus_allowed, nr_cpu_ids()), bitmap_list(t.cpus_allowed), t.nvcsw, t.nivcsw,
      bitmap_hex(nodes, MAX_NUMNODES), bitmap_list(nodes));
}

std::string pid_statm(const task_info&) {
  return "0 0 0 0 0 0 0\n";
}

}  // namespace cpustop::proc

namespace cpustop {

std::string proc_pid_stat(pid_t pid) {
  task_info t;
  return task_get_info(pid, &t) ? std::string() : proc::pid_stat(t);
}

std::string proc_pid_status(pid_t pid) {
  task_info t;
  return task_get_info(pid, &t) ? std::string() : proc::pid_status(t);
}

}  // namespace cpustop
