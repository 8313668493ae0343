// cpustop-httpd: an HTTP/1.1 server whose every connection is a cpustop task.
//
//   cpustop-httpd [--cpus N] [--port P] [--bind ADDR] [--live-ops] [--idle-timeout-ms MS]
//                 [--header-timeout-ms MS] [--preempt none|voluntary|full]
//
// Serves until SIGINT or SIGTERM, then prints its counters (and the live operations' costs).
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>

#include "cpustop/cpustop.h"
#include "server.h"

int main(int argc, char** argv) {
  CLI::App app{"cpustop-httpd: an HTTP/1.1 server on cpustop tasks", "cpustop-httpd"};
  unsigned cpus = 0;
  httpd::options o;
  std::string preempt = "voluntary";
  app.add_option("--cpus", cpus, "logical CPUs (default: the hardware's)");
  app.add_option("--port", o.port, "TCP port (0: any free one)")->check(CLI::Range(0, 65535));
  app.add_option("--bind", o.bind, "IPv4 address to listen on");
  app.add_flag("--live-ops", o.live_ops,
               "run stop_machine, affinity moves, hotplug and livepatch while serving");
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms, "close idle keep-alive connections")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--header-timeout-ms", o.header_timeout_ms, "time for a request head")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--preempt", preempt, "none, voluntary or full")
      ->check(CLI::IsMember({"none", "voluntary", "full"}));
  CLI11_PARSE(app, argc, argv);

  // Room for many connections: the hard limit is ours to use.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  // SIGINT/SIGTERM are taken by sigwait below, never by a CPU thread.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);

  cpustop::boot_params p;
  p.nr_cpus = cpus;
  p.preempt = preempt == "none"   ? cpustop::preempt_model::none
              : preempt == "full" ? cpustop::preempt_model::full
                                  : cpustop::preempt_model::voluntary;
  if (int err = cpustop::boot(p)) {
    std::fprintf(stderr, "cpustop-httpd: boot failed: %s\n", std::strerror(-err));
    return 1;
  }
  httpd::server srv;
  if (int err = srv.start(o)) {
    std::fprintf(stderr, "cpustop-httpd: cannot listen on %s:%d: %s\n", o.bind.c_str(), o.port,
                 std::strerror(-err));
    cpustop::shutdown();
    return 1;
  }
  std::printf("cpustop-httpd: listening on %s:%d with %u CPUs%s\n", o.bind.c_str(), srv.port(),
              cpustop::nr_cpu_ids(), o.live_ops ? " (live operations on)" : "");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_set, &sig);
  srv.stop();
  std::printf("%s", srv.stats_text().c_str());
  int err = cpustop::shutdown();
  if (err) std::fprintf(stderr, "cpustop-httpd: shutdown: %s\n", std::strerror(-err));
  return err ? 1 : 0;
}
