// Scheduling domains from the CPU topology (kernel/sched/topology.c).
#include "kernel/sched/topology.h"

#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string_view>
#include <tuple>

#include "arch/arch.h"
#include "kernel/init.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"

namespace cpustop {

namespace {

struct cpu_topo {
  int core, llc, node;
};

int cpu_topo::*const raw_fields[] = {&cpu_topo::core, &cpu_topo::llc, &cpu_topo::node};
const char* const raw_names[] = {"SMT", "MC", "PKG", "NUMA"};
constexpr int NR_RAW_LEVELS = 4;  // core, cache, node, machine

// The CPUs that share a core, a cache or a node, computed once per generation: each CPU's
// domains and groups come from these tables, so building costs O(CPUs x levels) mask operations
// and a CPU's span is found without scanning every CPU (select_idle_sibling asks on each wakeup).
struct topo_spans {
  std::vector<cpumask> spans[3];     // [raw level][span id]
  std::vector<unsigned> span_id[3];  // [raw level][cpu]
  const cpumask& of(int raw, unsigned cpu) const { return spans[raw][span_id[raw][cpu]]; }
};

// One generation of the topology and domains. Readers run with preemption disabled; a rebuild
// publishes a new set and frees the old one after every CPU has left such a region.
struct domain_set {
  std::vector<cpu_topo> topo;
  topo_spans spans;
  // Groups of the domains, shared by every CPU of a domain: key (raw, span id, child raw).
  std::map<std::tuple<int, unsigned, int>, std::vector<cpumask>> groups;
  std::vector<std::vector<sched_domain>> domains;
};
std::atomic<domain_set*> current_set{nullptr};
std::vector<domain_set*> retired;

// Logical CPU -> (core, llc, node): from the declared spec, hwloc, or a flat cache.
std::vector<cpu_topo> compute_topology() {
  std::vector<cpu_topo> topo(nr_cpu_ids_, {0, 0, 0});
  topology_spec spec;
  parse_topology(boot_params_current.topology, &spec);
  bool declared = spec.smt || spec.llc || spec.numa;
  bool hw = !declared && arch::cpu_thread_hw_cpu(0) >= 0;
  // 64 bits: the product of three declared counts may not fit in 32.
  std::uint64_t smt = spec.smt ? spec.smt : 1;
  std::uint64_t per_llc = smt * (spec.llc ? spec.llc : NR_CPUS);  // one cache unless declared
  std::uint64_t per_node = per_llc * (spec.numa ? spec.numa : NR_CPUS);  // one node likewise
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    if (hw) {
      arch::hw_cpu_topology t;
      if (arch::hw_topology(arch::cpu_thread_hw_cpu(c), &t) == 0) {
        topo[c] = {t.core, t.llc, t.node};
        continue;
      }
    }
    topo[c] = {static_cast<int>(c / smt), static_cast<int>(c / per_llc),
               static_cast<int>(c / per_node)};
  }
  return topo;
}

topo_spans compute_spans(const std::vector<cpu_topo>& topo) {
  topo_spans t;
  for (int raw = 0; raw < 3; raw++) {
    std::map<int, unsigned> ids;
    t.span_id[raw].resize(topo.size());
    for (unsigned c = 0; c < topo.size(); c++) {
      auto [it, added] =
          ids.try_emplace(topo[c].*raw_fields[raw], static_cast<unsigned>(t.spans[raw].size()));
      if (added) t.spans[raw].emplace_back();
      t.span_id[raw][c] = it->second;
      t.spans[raw][it->second].set(c);
    }
  }
  return t;
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

// The span of cpu at raw level 0..3 (core, cache, node, machine) within active; -1: cpu alone.
cpumask raw_span(const domain_set& set, unsigned cpu, int raw, const cpumask& active) {
  if (raw < 0) return cpumask::of(cpu);
  if (raw == 3) return active;
  return set.spans.of(raw, cpu) & active;
}

// The groups of a domain: the child level's spans inside it, computed once per domain span.
std::span<const cpumask> domain_groups(domain_set& set, unsigned cpu, int raw, int child_raw,
                                       const cpumask& span, const cpumask& active) {
  unsigned id = raw == 3 ? 0 : set.spans.span_id[raw][cpu];
  auto [it, added] = set.groups.try_emplace({raw, id, child_raw});
  if (added) {
    cpumask covered;
    for (unsigned g : span) {
      if (covered.test(g)) continue;
      cpumask group = raw_span(set, g, child_raw, active) & span;
      covered = covered | group;
      it->second.push_back(std::move(group));
    }
  }
  return it->second;
}

}  // namespace

void build_sched_domains(bool cpuslocked) {
  auto* set = new domain_set;
  set->topo = compute_topology();
  set->spans = compute_spans(set->topo);
  cpumask active = cpu_active_mask.load();
  set->domains.assign(nr_cpu_ids_, {});
  for (unsigned c : active) {
    cpumask prev_span = cpumask::of(c);
    int prev_raw = -1;
    for (int raw = 0; raw < NR_RAW_LEVELS; raw++) {
      cpumask span = raw_span(*set, c, raw, active);
      if (span == prev_span) continue;  // a degenerate level
      sched_domain sd;
      sd.name = raw_names[raw];
      sd.groups = domain_groups(*set, c, raw, prev_raw, span, active);
      sd.min_interval = std::max(1u, span.weight());
      sd.span = span;
      set->domains[c].push_back(std::move(sd));
      prev_span = span;
      prev_raw = raw;
    }
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
  delete current_set.exchange(nullptr);
  for (domain_set* d : retired) delete d;
  retired.clear();
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
  return set->spans.of(1, static_cast<unsigned>(cpu));
}

}  // namespace cpustop
