// Scenarios of `cpustop sim`: each boots nothing itself; it runs on the host thread of a booted
// simulated machine, drives the kernel through its public API, and reports what it found wrong
// through sim::fail (which ends the run with result=FAIL).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cpustop::sim_scenarios {

struct scenario_context {
  unsigned cpus;
  std::uint64_t seed;
  // The scenario's own choices (which CPU to take down, which mask to set): seeded, so a run is
  // replayable from its seed alone.
  std::mt19937_64 rng;
  unsigned pick_cpu(unsigned from = 0) {
    return from + static_cast<unsigned>(rng() % (cpus - from));
  }
};

struct scenario {
  const char* name;
  const char* description;
  void (*run)(scenario_context& ctx);
};

const std::vector<scenario>& scenarios();

// Fails the run unless cond holds; `what` names the broken expectation.
void check(bool cond, const std::string& what);

}  // namespace cpustop::sim_scenarios
