// CPU topology for scheduling domains: SMT siblings, cache groups, NUMA nodes.
#pragma once

#include <string>

namespace cpustop {

// A declared topology: CPUs per core, cores per last-level cache, caches per node. 0: unset.
struct topology_spec {
  unsigned smt = 0, llc = 0, numa = 0;
};

// Parses "smt=2,llc=4,numa=1" (any subset, any order). Empty text is valid (hardware topology).
bool parse_topology(const std::string& text, topology_spec* out);

}  // namespace cpustop
