// Scheduling domains from the CPU topology (kernel/sched/topology.c).
#include "kernel/sched/topology.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <string_view>

#include "arch/arch.h"
#include "kernel/init.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"

namespace cpustop {

namespace {

struct cpu_topo {
  int core, llc, node;
};

// One generation of the topology and domains. Readers run with preemption disabled; a rebuild
// publishes a new set and frees the old one after every CPU has left such a region.
struct domain_set {
  std::vector<cpu_topo> topo;
  std::vector<std::vector<sched_domain>> domains;
};
std::atomic<domain_set*> current_set{nullptr};
std::vector<cpu_topo> topo;  // scratch for the set being built
std::vector<domain_set*> retired;
// The first topology of the boot, for readers outside the machine (it never changes in a boot).
std::vector<cpu_topo> boot_topo(NR_CPUS);
std::atomic<unsigned> boot_topo_cpus{0};

// Logical CPU -> (core, llc, node): from the declared spec, hwloc, or a flat cache.
void compute_topology() {
  topo.assign(nr_cpu_ids_, {0, 0, 0});
  topology_spec spec;
  parse_topology(boot_params_current.topology, &spec);
  bool declared = spec.smt || spec.llc || spec.numa;
  bool hw = !declared && arch::cpu_thread_hw_cpu(0) >= 0;
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    if (hw) {
      arch::hw_cpu_topology t;
      if (arch::hw_topology(arch::cpu_thread_hw_cpu(c), &t) == 0) {
        topo[c] = {t.core, t.llc, t.node};
        continue;
      }
    }
    unsigned smt = spec.smt ? spec.smt : 1;
    // One cache and one node unless declared.
    unsigned llc = spec.llc ? spec.llc : NR_CPUS;
    unsigned numa = spec.numa ? spec.numa : NR_CPUS;
    topo[c] = {static_cast<int>(c / smt), static_cast<int>(c / (smt * llc)),
               static_cast<int>(c / (smt * llc * numa))};
  }
}

cpumask span_of(const std::vector<cpu_topo>& t, unsigned cpu, int cpu_topo::*field) {
  cpumask m;
  for (unsigned c = 0; c < t.size(); c++)
    if (t[c].*field == t[cpu].*field) m.set(c);
  return m;
}

const domain_set* domains_now() {
  return current_set.load(std::memory_order_acquire);
}

}  // namespace

bool parse_topology(const std::string& text, topology_spec* out) {
  topology_spec spec;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc() || p != val.data() + val.size() || v == 0 || v > NR_CPUS) return false;
    if (key == "smt")
      spec.smt = v;
    else if (key == "llc")
      spec.llc = v;
    else if (key == "numa")
      spec.numa = v;
    else
      return false;
  }
  *out = spec;
  return true;
}

bool topology_params_valid(const std::string& topology, unsigned nr) {
  topology_spec spec;
  return nr > 0 && parse_topology(topology, &spec);
}

namespace {

int cpu_topo::*const raw_fields[] = {&cpu_topo::core, &cpu_topo::llc, &cpu_topo::node};
const char* const raw_names[] = {"SMT", "MC", "PKG", "NUMA"};

// The span of cpu at raw level 0..3 (core, cache, node, machine); -1: cpu alone.
cpumask raw_span(unsigned cpu, int raw, const cpumask& active) {
  if (raw < 0) return cpumask::of(cpu);
  if (raw == 3) return active;
  return span_of(topo, cpu, raw_fields[raw]) & active;
}

}  // namespace

void build_sched_domains(bool cpuslocked) {
  compute_topology();
  cpumask active = cpu_active_mask.load();
  auto* set = new domain_set;
  set->domains.assign(nr_cpu_ids_, {});
  for (unsigned c : active) {
    cpumask prev_span = cpumask::of(c);
    int prev_raw = -1;
    for (int raw = 0; raw < 4; raw++) {
      cpumask span = raw_span(c, raw, active);
      if (span == prev_span) continue;  // a degenerate level
      sched_domain sd;
      sd.name = raw_names[raw];
      sd.span = span;
      cpumask covered;
      for (unsigned g : span) {
        if (covered.test(g)) continue;
        cpumask group = raw_span(g, prev_raw, active) & span;
        sd.groups.push_back(group);
        covered = covered | group;
      }
      sd.min_interval = std::max(1u, span.weight());
      set->domains[c].push_back(std::move(sd));
      prev_span = span;
      prev_raw = raw;
    }
  }
  set->topo = topo;
  if (boot_topo_cpus.load(std::memory_order_relaxed) == 0) {
    std::size_t n = std::min<std::size_t>(topo.size(), NR_CPUS);
    std::copy_n(topo.begin(), n, boot_topo.begin());
    boot_topo_cpus.store(static_cast<unsigned>(n), std::memory_order_release);
  }
  domain_set* old = current_set.exchange(set, std::memory_order_acq_rel);
  if (!old) return;
  // synchronize_sched(): once every CPU has been through its stopper, no reader is left.
  if (synchronize_sched(cpuslocked)) {
    delete old;
  } else {
    retired.push_back(old);  // before the stopper exists (LegoOS boot order): freed at halt
  }
}

void free_sched_domains() {
  boot_topo_cpus.store(0, std::memory_order_relaxed);
  delete current_set.exchange(nullptr);
  for (domain_set* d : retired) delete d;
  retired.clear();
  topo.clear();
}

std::vector<sched_domain>& cpu_sched_domains(int cpu) {
  static std::vector<sched_domain> none;
  domain_set* set = current_set.load(std::memory_order_acquire);
  if (!set || cpu < 0 || static_cast<unsigned>(cpu) >= set->domains.size()) return none;
  return set->domains[static_cast<unsigned>(cpu)];
}

std::string sched_domains_summary(int cpu) {
  std::string s = "cpu" + std::to_string(cpu) + " domains:";
  const auto& d = cpu_sched_domains(cpu);
  if (d.empty()) return s + " none";
  for (const sched_domain& sd : d) s += " " + sd.name + " " + cpumask_to_cpulist(sd.span);
  return s;
}

int cpu_to_node(int cpu) {
  const domain_set* set = domains_now();
  return set && cpu >= 0 && static_cast<unsigned>(cpu) < set->topo.size()
             ? set->topo[static_cast<unsigned>(cpu)].node
             : 0;
}

int cpu_llc_id(int cpu) {
  const domain_set* set = domains_now();
  return set && cpu >= 0 && static_cast<unsigned>(cpu) < set->topo.size()
             ? set->topo[static_cast<unsigned>(cpu)].llc
             : 0;
}

cpumask cpu_llc_span(int cpu) {
  const domain_set* set = domains_now();
  if (!set || cpu < 0 || static_cast<unsigned>(cpu) >= set->topo.size())
    return cpumask::first_n(nr_cpu_ids_);
  return span_of(set->topo, static_cast<unsigned>(cpu), &cpu_topo::llc);
}

bool topology_cpu_ids(unsigned cpu, cpu_topology_ids* out) {
  unsigned n = std::min(boot_topo_cpus.load(std::memory_order_acquire), NR_CPUS);
  if (cpu >= n) return false;
  const cpu_topo& t = boot_topo[cpu];
  *out = {};
  out->core_id = t.core;
  out->package_id = t.node;
  for (unsigned c = 0; c < n; c++) {
    if (boot_topo[c].core == t.core) out->thread_siblings.set(c);
    if (boot_topo[c].node == t.node) out->package_cpus.set(c);
  }
  return true;
}

}  // namespace cpustop
