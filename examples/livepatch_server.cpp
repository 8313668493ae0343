// Live patching under load: server tasks on every CPU handle requests through patchable
// functions while the main thread applies and reverts a patch again and again. Every request
// must succeed and see one version only. Exit status 0 when none failed or mixed.
//
//   livepatch_server [SWITCHES] [--cpus N]
//
// With SWITCHES it stops after that many switches; without, it switches every 100 ms until
// SIGINT or SIGTERM, and can be watched meanwhile (`cpustop list`, `cpustop attach PID`).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <unistd.h>

#include "livepatch_server.h"

namespace {
volatile std::sig_atomic_t interrupted = 0;
void on_signal(int) {
  interrupted = 1;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace cpustop;
  long switches = -1;  // until interrupted
  boot_params p;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--cpus") == 0 && i + 1 < argc)
      p.nr_cpus = static_cast<unsigned>(std::atoi(argv[++i]));
    else
      switches = std::atol(argv[i]);
  }
  if (int err = boot(p)) {
    std::fprintf(stderr, "livepatch_server: boot failed: %s\n", std::strerror(-err));
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<long> served{0}, mixed{0}, failed{0}, v1{0}, v2{0};
  std::vector<pid_t> servers;
  for (unsigned i = 0; i < 4 * nr_cpu_ids(); i++)
    servers.push_back(spawn("server", [&, i] {
      for (int x = static_cast<int>(i); !stop.load(std::memory_order_relaxed); x++) {
        int v = lp_example::handle(x & 0xffff);
        if (v == 0) mixed++;
        (v == 1 ? v1 : v2)++;
        served++;
        cond_resched();
      }
    }));
  klp_patch patch = lp_example::make_patch();
  unsigned long refused = 0;
  if (switches < 0) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("livepatch_server: pid %d serving on %u CPUs until interrupted\n", ::getpid(),
                nr_cpu_ids());
    std::fflush(stdout);
  }
  long s = 0;
  for (; switches < 0 ? !interrupted : s < switches; s++) {
    if (switches < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int err = s % 2 == 0 ? klp_enable_patch(&patch) : klp_disable_patch(&patch);
    if (err) {
      std::fprintf(stderr, "livepatch_server: switch %ld failed: %s\n", s, std::strerror(-err));
      failed++;
      break;
    }
    refused += patch.refused;
  }
  if (patch.enabled) klp_disable_patch(&patch);
  stop = true;
  for (pid_t pid : servers) join(pid, nullptr);
  std::printf(
      "livepatch_server: %ld patch switches on %u CPUs (%lu retries while a request was in "
      "flight)\n",
      s, nr_cpu_ids(), refused);
  std::printf("livepatch_server: %ld requests served (%ld old, %ld new), %ld failed, %ld mixed\n",
              served.load(), v1.load(), v2.load(), failed.load(), mixed.load());
  shutdown();
  return failed.load() || mixed.load() || served.load() == 0 ? 1 : 0;
}
