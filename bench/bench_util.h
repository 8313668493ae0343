// Helpers shared by the benchmarks: timing, medians, a booted machine, pinned peer threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cpustop/cpustop.h"

namespace cpustop::bench {

using bench_clock = std::chrono::steady_clock;

inline double ns_between(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Boots for the lifetime of the object.
class machine {
 public:
  explicit machine(boot_params p);
  ~machine();
  bool ok() const { return err_ == 0; }

 private:
  int err_;
};

// Runs fn (returning double) in a cpustop task with attr; returns its result.
double in_task(std::function<double()> fn, const task_attr& attr = {});

// Pins the calling OS thread to the n-th hardware CPU this process could use at start; undone
// by unpin_self(), which every benchmark gets before it runs.
void pin_self(unsigned n);
void unpin_self();
// The number of hardware CPUs this process could use at start, and the n-th of them.
unsigned hw_cpus();
int hw_cpu(unsigned n);

// Runs ours and peer alternately `rounds` times and returns their medians.
struct pair_result {
  double ours, peer;
};
pair_result interleave(int rounds, const std::function<double()>& ours,
                       const std::function<double()>& peer);

void section(const std::string& title);

}  // namespace cpustop::bench
