// The deterministic simulator (the sim platform, build/sim/): every virtual CPU, its idle loop
// and every task run as fibers on one OS thread. Every arch call is a scheduling point at which a
// seeded strategy picks the virtual CPU that runs next, so one seed, strategy and build give one
// interleaving, bit for bit. Virtual time advances by a per-operation cost model; when every CPU
// is idle it jumps to the next timer. Only a sim build defines these functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cpustop::sim {

enum class strategy {
  random,  // at every scheduling point, a runnable CPU uniformly at random
  pct,     // probabilistic concurrency testing: random priorities, depth-1 change points
};

// The historical bug classes of kernel-spec.md §10 that the simulator can re-introduce, each by
// a hook in the kernel code (src/kernel/fault_inject.h) that only the sim build can turn on.
// The simulator must find each within a bounded number of seeds: the proof that it can fail.
enum class fault : unsigned {
  // b17718d02f54: each work of a pair is queued under only its own stopper's lock.
  pair_own_lock_only,
  // e6253970413d: a pair is queued without looking at stop_cpus_in_progress.
  no_stop_cpus_in_progress,
  // 9fb8d5dc4b64: preemption stays on between queueing a pair and waking both stoppers.
  pair_wake_preemptible,
  // A multi_cpu_stop participant that is not active skips its ack of the RUN state.
  skip_ack,
  NR
};
inline constexpr const char* fault_names[] = {
    "pair_own_lock_only",
    "no_stop_cpus_in_progress",
    "pair_wake_preemptible",
    "skip_ack",
};
static_assert(sizeof(fault_names) / sizeof(fault_names[0]) == static_cast<unsigned>(fault::NR));

struct config {
  unsigned cpus = 64;  // the virtual machine's CPUs: nr_hw_cpus(), the default nr_cpus of boot()
  std::uint64_t seed = 1;
  sim::strategy strategy = strategy::random;
  unsigned pct_depth = 3;               // PCT's d: d-1 priority change points
  std::uint64_t pct_steps = 2'000'000;  // PCT's k: the run length over which they are drawn
  std::uint64_t skew_ns = 2000;         // how far a CPU's clock may run ahead of the slowest
  // Stalls, as a hypervisor's preemption of a vCPU or an SMI: at each scheduling point, with
  // probability stall_ppm per million, the running CPU loses up to stall_max_ns of time.
  unsigned stall_ppm = 50;
  std::uint64_t stall_max_ns = 50'000;
  std::uint64_t time_limit_ns = 100'000'000;  // liveness: virtual time by which a run ends
  std::uint64_t faults = 0;                   // bit f: re-introduce fault f
};

struct stats {
  std::uint64_t points = 0;          // scheduling points taken
  std::uint64_t switches = 0;        // of which switched to another virtual CPU or thread
  std::uint64_t line_transfers = 0;  // shared cache lines that moved between CPUs
  std::uint64_t virtual_ns = 0;      // the latest clock of any virtual CPU
  std::uint64_t digest = 0;          // hash of every decision and of digest_add() input
};

// Resets the simulator to a machine of cfg.cpus CPUs with only the calling (host) thread. Call
// before boot(), from the host thread. Returns 0, or -EBUSY while virtual CPUs exist.
int configure(const config& cfg);
const config& current_config();
stats current_stats();

// Models `ns` of computation by the running task: its CPU's clock advances by ns, at one
// scheduling point. (Code between scheduling points is free in virtual time; a scenario's busy
// task says how busy it is with this.)
void cpu_work(std::uint64_t ns);

// The running CPU's (or host thread's) virtual clock, as local_clock() reads it there.
std::uint64_t local_time();

// Folds bytes into the run's digest (the dmesg, the trace). Host thread.
void digest_add(const void* data, std::size_t len);

// Called once when the run breaks an invariant, deadlocks or exceeds the virtual-time bound,
// with the reason and the tail of the schedule; it must not return (it reports and exits).
// Without a handler the simulator prints both and aborts.
using failure_handler = void (*)(const std::string& why, const std::string& schedule_tail);
void set_failure_handler(failure_handler h);
// Reports a failure from anywhere in the run (an invariant check); does not return.
[[noreturn]] void fail(const std::string& why);

}  // namespace cpustop::sim
