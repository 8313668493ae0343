// The virtual CPUs: one entity each, whose fiber runs the kernel's CPU entry; the virtual
// machine's "hardware" (its CPU count); and the clock, which is the running entity's own.
#include <cerrno>
#include <vector>

#include "arch/sim/sim.h"

namespace cpustop::arch {

namespace {

void (*cpu_entry)(unsigned);
std::vector<sim::entity*> cpus;
std::atomic<std::uint32_t> live_cpus{0};  // the joiner's futex word

void cpu_main(sim::entity* e) {
  cpu_entry(static_cast<unsigned>(e->cpu));
  live_cpus.fetch_sub(1);
  futex_wake(&live_cpus, 1);
}

}  // namespace

sim::entity* sim::cpu_entity(unsigned cpu) {
  return cpu < cpus.size() ? cpus[cpu] : nullptr;
}

void* thread_area() {
  sim::ensure_init();
  sim::entity* e = sim::current;
  if (!e->area) e->area = std::make_unique<sim::thread_area_block>();
  return e->area->bytes;
}

void clock_init() {
  sim::ensure_init();
}

const char* clocksource_name() {
  return "sim";
}

// A virtual CPU runs whenever the engine picks it: nothing is ever stolen from it.
std::uint64_t steal_clock() {
  return 0;
}

unsigned nr_hw_cpus() {
  return sim::cfg().cpus;
}

int cpu_threads_create(unsigned nr, bool, void (*entry)(unsigned)) {
  sim::ensure_init();
  if (!cpus.empty()) return -EBUSY;
  cpu_entry = entry;
  live_cpus.store(nr);
  for (unsigned i = 0; i < nr; i++)
    cpus.push_back(sim::spawn(sim::kind::cpu, static_cast<int>(i), cpu_main));
  return 0;
}

void cpu_threads_join() {
  if (cpus.empty()) return;
  for (std::uint32_t n; (n = live_cpus.load()) != 0;) futex_wait(&live_cpus, n);
  for (sim::entity* e : cpus) {
    while (e->state != sim::state::dead) os_yield();  // past its last wake, still returning
    sim::reap(e);
  }
  cpus.clear();
}

int cpu_thread_hw_cpu(unsigned) {
  return -1;  // no host CPU behind a virtual one; boot declares a synthetic topology
}

int hw_topology(int, hw_cpu_topology*) {
  return -ENODEV;
}

}  // namespace cpustop::arch
