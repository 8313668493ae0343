// /sys/devices/system/cpu (drivers/base/cpu.c and drivers/base/topology.c): the CPU lists, each
// CPU's online attribute with the kernel's store semantics, and its topology while it is online.
#include <fmt/format.h>

#include <cerrno>

#include "cpustop/boot.h"
#include "kernel/percpu.h"
#include "kernel/sched/topology.h"
#include "proc/internal.h"

namespace cpustop::proc {

namespace {

// lib/kstrtox.c kstrtobool(): only the first characters count.
int kstrtobool(std::string_view s, bool* res) {
  if (s.empty()) return -EINVAL;
  switch (s[0]) {
    case 'y':
    case 'Y':
    case '1':
      *res = true;
      return 0;
    case 'n':
    case 'N':
    case '0':
      *res = false;
      return 0;
    case 'o':
    case 'O':
      if (s.size() > 1 && (s[1] == 'n' || s[1] == 'N')) return *res = true, 0;
      if (s.size() > 1 && (s[1] == 'f' || s[1] == 'F')) return *res = false, 0;
      break;
  }
  return -EINVAL;
}

std::string list_line(const cpumask& m) {
  return bitmap_list(m) + "\n";
}

cpumask possible() {
  return cpumask::first_n(nr_cpu_ids());
}

}  // namespace

std::string cpu_list_show(cpu_list which) {
  cpumask online = cpu_online_mask_snapshot() & possible();
  switch (which) {
    case cpu_list::online:
      return list_line(online);
    case cpu_list::offline:
      return list_line(possible().andnot(online));
    case cpu_list::possible:
    case cpu_list::present:
      return list_line(possible());
    case cpu_list::isolated:
      return "\n";
  }
  return "\n";
}

std::string kernel_max_show() {
  return fmt::format("{}\n", NR_CPUS - 1);
}

bool cpu_hotpluggable(unsigned cpu) {
  return cpu > 0 && cpu < nr_cpu_ids();
}

std::string cpu_online_show(unsigned cpu) {
  return cpu_online(static_cast<int>(cpu)) ? "1\n" : "0\n";
}

int cpu_online_store(unsigned cpu, std::string_view buf) {
  bool on;
  if (int err = kstrtobool(buf, &on)) return err;
  int c = static_cast<int>(cpu);
  if (cpu_online(c) == on) return 0;  // device_online() of an online device is a no-op
  int err = on ? cpu_up(cpu) : cpu_down(cpu);
  // A concurrent writer got there first: the state asked for is the state it is in.
  if (err == -EINVAL && cpu_online(c) == on) return 0;
  return err;
}

const std::vector<std::string>& cpu_topology_names() {
  static const std::vector<std::string> names = {"cluster_cpus",
                                                 "cluster_cpus_list",
                                                 "cluster_id",
                                                 "core_cpus",
                                                 "core_cpus_list",
                                                 "core_id",
                                                 "core_siblings",
                                                 "core_siblings_list",
                                                 "die_cpus",
                                                 "die_cpus_list",
                                                 "die_id",
                                                 "package_cpus",
                                                 "package_cpus_list",
                                                 "physical_package_id",
                                                 "thread_siblings",
                                                 "thread_siblings_list"};
  return names;
}

bool cpu_topology_show(unsigned cpu, std::string_view name, std::string* out) {
  cpu_topology_ids ids;
  if (!cpu_online(static_cast<int>(cpu)) || !topology_cpu_ids(cpu, &ids)) return false;
  // The sibling maps hold online CPUs only, as the kernel's cpu_sibling_map and cpu_core_map.
  cpumask online = cpu_online_mask_snapshot();
  cpumask core = ids.thread_siblings & online, package = ids.package_cpus & online;
  unsigned n = nr_cpu_ids();
  auto mask = [&](const cpumask& m, bool list) {
    return (list ? bitmap_list(m) : bitmap_hex(m, n)) + "\n";
  };
  bool list = name.size() > 5 && name.substr(name.size() - 5) == "_list";
  std::string_view base = list ? name.substr(0, name.size() - 5) : name;
  if (base == "core_id" || base == "cluster_id")
    *out = fmt::format("{}\n", ids.core_id);
  else if (base == "physical_package_id" || base == "die_id")
    *out = fmt::format("{}\n", base == "die_id" ? 0 : ids.package_id);
  else if (base == "thread_siblings" || base == "core_cpus" || base == "cluster_cpus")
    *out = mask(core, list);
  else if (base == "core_siblings" || base == "package_cpus" || base == "die_cpus")
    *out = mask(package, list);
  else
    return false;
  return true;
}

}  // namespace cpustop::proc
