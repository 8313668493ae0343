// Hardware topology through hwloc: the core, last-level cache and NUMA node of a hardware CPU.
#include <hwloc.h>

#include <cerrno>
#include <mutex>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

hwloc_topology_t topology;
bool loaded;

int logical_index_of(hwloc_obj_t pu, hwloc_obj_type_t type) {
  hwloc_obj_t o = hwloc_get_ancestor_obj_by_type(topology, type, pu);
  return o ? static_cast<int>(o->logical_index) : -1;
}

}  // namespace

int hw_topology(int hw_cpu, hw_cpu_topology* out) {
  static std::once_flag once;
  std::call_once(once, [] {
    if (hwloc_topology_init(&topology) == 0 && hwloc_topology_load(topology) == 0) loaded = true;
  });
  if (!loaded || hw_cpu < 0) return -ENODEV;
  hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topology, static_cast<unsigned>(hw_cpu));
  if (!pu) return -ENODEV;
  out->core = logical_index_of(pu, HWLOC_OBJ_CORE);
  // The last-level cache: L3 where there is one, else L2.
  out->llc = logical_index_of(pu, HWLOC_OBJ_L3CACHE);
  if (out->llc < 0) out->llc = logical_index_of(pu, HWLOC_OBJ_L2CACHE);
  out->node = 0;
  int nodes = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < nodes; i++) {
    hwloc_obj_t node =
        hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    if (node && hwloc_bitmap_isset(node->cpuset, static_cast<unsigned>(hw_cpu))) out->node = i;
  }
  if (out->core < 0) out->core = hw_cpu;
  if (out->llc < 0) out->llc = 0;
  return 0;
}

}  // namespace cpustop::arch
