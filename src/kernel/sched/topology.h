// CPU topology and scheduling domains (kernel/sched/topology.c).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cpustop/cpumask.h"
#include "kernel/percpu.h"

namespace cpustop {

// A declared topology: CPUs per core, cores per last-level cache, caches per node. 0: unset.
struct topology_spec {
  unsigned smt = 0, llc = 0, numa = 0;
};

// Parses "smt=2,llc=4,numa=1" (any subset, any order). Empty text is valid (hardware topology).
bool parse_topology(const std::string& text, topology_spec* out);

// One level of a CPU's domain hierarchy, bottom up: SMT (a core), MC (a cache), PKG (a node),
// NUMA (the machine).
struct sched_domain {
  std::string name;
  cpumask span;
  std::span<const cpumask> groups;  // the child domains' spans (single CPUs at the bottom),
                                    // shared by every CPU of the domain
  unsigned min_interval;            // balancing interval in jiffies when idle; busy: x busy_factor
  unsigned busy_factor = 16;
  u64 last_balance = 0;
  unsigned nr_balance_failed = 0;
};

// Builds the domains of every CPU from boot_params::topology, hwloc (pinned CPUs), or one flat
// cache. Called at boot and whenever the set of active CPUs changes (cpuslocked: the caller
// holds the hotplug lock). May sleep.
void build_sched_domains(bool cpuslocked = false);
void free_sched_domains();
// The domains of cpu, bottom up (empty for a CPU alone). Preemption disabled.
std::vector<sched_domain>& cpu_sched_domains(int cpu);
// "cpu0 domains: SMT 0-1, MC 0-3" (or "no domains").
std::string sched_domains_summary(int cpu);
// The node and last-level cache of cpu (for placement and statistics).
int cpu_to_node(int cpu);
int cpu_llc_id(int cpu);
// The span of cpu's last-level-cache domain (cpu alone if none).
cpumask cpu_llc_span(int cpu);

}  // namespace cpustop
