// Helpers shared by the benchmarks: the one way to compare ours with a peer (alternating rounds,
// median and spread, the BENCH line), scaling points, timing, a booted machine, pinned threads,
// the futex ping-pong peer and the Go runner.
//
// A benchmark measures each side with a function that runs one round and returns nanoseconds
// per operation (negative: this side could not be measured here, e.g. Go is not installed), and
// hands the functions to compare():
//
//   compare("switch", ours_yield, {{"boost_fiber", boost_fiber_yield}, {"go_gosched", gosched}});
//
// which runs ours, boost_fiber, go_gosched, ours, ... for at least MIN_ROUNDS rounds and queues
//   BENCH switch ours_ns=<median> boost_fiber_ns=<median> ratio=<ours/peer> ours_min_ns=...
//   ours_max_ns=... boost_fiber_min_ns=... boost_fiber_max_ns=... rounds=N
// (one line per peer). A benchmark's queued lines are printed after it returns, so they come
// last in its output. Scaling curves (cost against CPU count) are reported with
// report_scaling(), one SCALE line per point; the simulator's benchmarks report theirs there
// with source "sim", and `bench all --report DIR` draws every source's curve on one plot.
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

// ---- comparing ours with peers -------------------------------------------------------------

constexpr int MIN_ROUNDS = 5;

// One side's results: ns per operation, one sample per round.
struct spread {
  std::vector<double> samples;
  double median() const;
  double min() const;
  double max() const;
  bool measured() const;  // every round gave a value
};

// One side of a comparison: the name printed as `<name>_ns=`, and one round of its measurement.
struct side {
  std::string name;
  std::function<double()> measure;
};

// Runs the sides in turn, round after round (a b c a b c ...), for `rounds` rounds (raised to
// MIN_ROUNDS); returns their spreads in the order given.
std::vector<spread> alternate(const std::vector<side>& sides, int rounds = MIN_ROUNDS);

// Ours against each peer, alternating; queues one BENCH line per peer that could be measured
// (and says which could not). Returns the spreads, ours first, then the peers in order.
std::vector<spread> compare(const std::string& metric, std::function<double()> ours,
                            const std::vector<side>& peers, int rounds = MIN_ROUNDS);

// Queues the BENCH line for spreads measured elsewhere (e.g. by a benchmark that must boot a
// machine per round for ours and none for the peer, and so calls alternate() itself).
void report(const std::string& metric, const spread& ours, const std::string& peer,
            const spread& peer_spread);

// A figure recorded on this machine kind but not measured in this run (its name must say
// `recorded`): the same value in every round, so that its spread is zero.
spread recorded(double ns, int rounds = MIN_ROUNDS);

// Queues `SCALE <metric> source=<source> cpus=N ns=<median> min_ns=... max_ns=... rounds=N`.
// source: "native" for logical CPUs on the real machine, "sim" for the simulator.
void report_scaling(const std::string& metric, const std::string& source, unsigned cpus,
                    const spread& s);

// What the benchmarks of this process reported, for the report writer.
struct comparison {
  std::string metric, peer;
  spread ours, peer_spread;
};
struct scaling_point {
  std::string metric, source;
  unsigned cpus;
  spread cost;
};
const std::vector<comparison>& comparisons();
const std::vector<scaling_point>& scaling_points();
// Every BENCH and SCALE line printed so far, in order.
const std::vector<std::string>& printed_lines();
// Prints the lines queued since the last call (called after each benchmark).
void flush_reports();

// ---- the machine and the host ----------------------------------------------------------------

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

// `HOST model="<lscpu Model name>" cpus=<lscpu CPU(s)> usable=<hw_cpus()>`: where the figures
// came from.
std::string host_line();

void section(const std::string& title);

// ---- peers shared by several benchmarks ------------------------------------------------------

// Round trip of a futex ping-pong between two OS threads pinned to the first two hardware CPUs:
// ns from one side's wake until the other side's answering wake has woken it, mean of
// `iterations`. Each round trip is two one-way wakeups.
double futex_pingpong_roundtrip_ns(int iterations);

// Go peers (Debian's golang-go). go_binary() builds `source`, a main package using only the
// standard library, once per process into /tmp/cpustop-bench-go/<name>/, and returns the
// binary's path, or "" when go is not installed or the build failed. go_measure() runs it with
// `env` prepended (e.g. "GOMAXPROCS=2") and returns the first number it prints, or -1.
std::string go_binary(const std::string& name, const std::string& source);
double go_measure(const std::string& binary, const std::string& env);

}  // namespace cpustop::bench
