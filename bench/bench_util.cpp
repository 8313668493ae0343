#include "bench_util.h"

#include <pthread.h>
#include <sched.h>

#include <fmt/core.h>

namespace cpustop::bench {

machine::machine(boot_params p) : err_(boot(p)) {
  if (err_) fmt::print(stderr, "cpustop bench: boot failed: {}\n", err_);
}

machine::~machine() {
  if (!err_) shutdown();
}

double in_task(std::function<double()> fn, const task_attr& attr) {
  double result = 0;
  pid_t pid = spawn(
      "bench", [&] { result = fn(); }, attr);
  if (pid <= 0 || join(pid, nullptr) != 0) return -1;
  return result;
}

namespace {

// The hardware CPUs this process may use, captured before main() and so before any benchmark
// pinned the main thread.
const std::vector<int>& startup_cpus() {
  static const std::vector<int> cpus = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    std::vector<int> v;
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &set)) v.push_back(i);
    return v;
  }();
  return cpus;
}
[[maybe_unused]] const std::vector<int>& captured_at_startup = startup_cpus();

}  // namespace

unsigned hw_cpus() {
  return static_cast<unsigned>(startup_cpus().size());
}

int hw_cpu(unsigned n) {
  const std::vector<int>& allowed = startup_cpus();
  return allowed[n % allowed.size()];
}

void pin_self(unsigned n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(hw_cpu(n), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void unpin_self() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : startup_cpus()) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

pair_result interleave(int rounds, const std::function<double()>& ours,
                       const std::function<double()>& peer) {
  std::vector<double> a, b;
  for (int i = 0; i < rounds; i++) {
    a.push_back(ours());
    b.push_back(peer());
  }
  return {median(a), median(b)};
}

void section(const std::string& title) {
  fmt::print("--- {}\n", title);
}

}  // namespace cpustop::bench
