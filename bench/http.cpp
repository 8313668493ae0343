// bench http: the real wrk against cpustop-httpd, a Go 1.19 net/http server with the same
// response, and the thread-per-core floors (epoll and io_uring), alternating in one run; then
// cpustop-httpd with its live operations against itself quiet.
//
//   wrk -t1 -c64 -d5s --latency (real-tools.md section 9), 5 rounds each, servers on the same
//   two cores as wrk. ns per request is 1e9 / (requests per second).
#include <fmt/core.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "bench.h"
#include "bench_util.h"
#include "http_floor.h"
#include "loadgen.h"

namespace cpustop::bench {

namespace {

constexpr int ROUNDS = 5;

int wrk_seconds() {
  const char* e = std::getenv("CPUSTOP_BENCH_HTTP_SECONDS");
  int s = e ? std::atoi(e) : 5;
  return s > 0 ? s : 5;
}

const char* GO_SERVER = R"(package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	http.Serve(ln, nil)
}
)";

// Builds the Go peer from source (once per run); "" when go is missing or the build fails.
std::string go_server_binary() {
  if (std::system("command -v go >/dev/null 2>&1") != 0) return "";
  std::string dir = "/tmp/cpustop-bench-go/http";
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/main.go") << GO_SERVER;
  std::string cmd = "cd " + dir + " && GOCACHE=" + dir +
                    "/cache GOFLAGS=-mod=mod go build -o server main.go 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return dir + "/server";
}

struct series {
  std::vector<double> ns_per_req, p99_ns;
  long errors = 0, non_2xx = 0, requests = 0;
  void add(const loadgen::wrk_result& r) {
    ns_per_req.push_back(r.requests_per_s > 0 ? 1e9 / r.requests_per_s : -1);
    p99_ns.push_back(r.p99_ns);
    errors += r.socket_errors;
    non_2xx += r.non_2xx;
    requests += r.requests;
  }
};

struct target {
  std::string name;
  int port;
  series s;
};

// One wrk run per target per round, the order rotating each round.
void alternate(std::vector<target*> targets, int seconds) {
  for (int round = 0; round < ROUNDS; round++) {
    for (std::size_t i = 0; i < targets.size(); i++) {
      target* t = targets[(i + static_cast<std::size_t>(round)) % targets.size()];
      loadgen::wrk_result r = loadgen::run_wrk(t->port, seconds);
      if (!r.ok()) fmt::print(stderr, "bench http: wrk against {} failed:\n{}\n", t->name, r.text);
      t->s.add(r);
      fmt::print(
          "  round {} {:<16} {:>9.0f} req/s  p50 {:>7.0f} us  p99 {:>7.0f} us  errors {} non-2xx "
          "{}\n",
          round + 1, t->name, r.requests_per_s, r.p50_ns / 1e3, r.p99_ns / 1e3, r.socket_errors,
          r.non_2xx);
      std::fflush(stdout);
    }
  }
}

int run() {
  if (!loadgen::have_wrk()) {
    fmt::print(stderr, "bench http: wrk is not installed (scripts/install-deps.sh)\n");
    return 1;
  }
  std::string httpd = loadgen::exe_dir() + "/cpustop-httpd";
  int seconds = wrk_seconds();
  loadgen::server_process ours({httpd, "--cpus", "2", "--port", "0"});
  loadgen::server_process live({httpd, "--cpus", "2", "--port", "0", "--live-ops"});
  if (!ours.ok() || !live.ok()) {
    fmt::print(stderr, "bench http: cannot start {}\n", httpd);
    return 1;
  }
  std::string go_bin = go_server_binary();
  std::unique_ptr<loadgen::server_process> go;
  if (!go_bin.empty())
    go = std::make_unique<loadgen::server_process>(std::vector<std::string>{go_bin},
                                                   std::vector<std::string>{"GOMAXPROCS=2"});
  floor_server epoll_floor(floor_kind::epoll, std::min(hw_cpus(), 2u));
  floor_server uring_floor(floor_kind::io_uring, std::min(hw_cpus(), 2u));

  target t_ours{"cpustop-httpd", ours.port(), {}};
  target t_go{"go_nethttp", go && go->ok() ? go->port() : 0, {}};
  target t_epoll{"epoll_floor", epoll_floor.ok() ? epoll_floor.port() : 0, {}};
  target t_uring{"io_uring_floor", uring_floor.ok() ? uring_floor.port() : 0, {}};
  std::vector<target*> all = {&t_ours};
  for (target* t : {&t_go, &t_epoll, &t_uring})
    if (t->port > 0) all.push_back(t);
  section(fmt::format("http: wrk -t1 -c64 -d{}s --latency, {} rounds, servers on 2 CPUs", seconds,
                      ROUNDS));
  alternate(all, seconds);

  section(
      "http: cpustop-httpd quiet vs with live operations (stop_machine 10 ms, affinity 50 ms, "
      "hotplug 1 s, livepatch)");
  target t_quiet{"quiet", ours.port(), {}};
  target t_live{"live_ops", live.port(), {}};
  alternate({&t_quiet, &t_live}, seconds);
  std::string quiet_out, live_out;
  ours.stop(&quiet_out);
  live.stop(&live_out);
  fmt::print("cpustop-httpd --live-ops after the runs:\n");
  for (std::string_view v = live_out; !v.empty();) {
    std::size_t nl = v.find('\n');
    std::string_view line = v.substr(0, nl);
    if (line.rfind("op ", 0) == 0 || line.rfind("responses_", 0) == 0) fmt::print("  {}\n", line);
    if (nl == std::string_view::npos) break;
    v.remove_prefix(nl + 1);
  }
  for (target* t : {&t_ours, &t_go, &t_epoll, &t_uring, &t_quiet, &t_live})
    if (t->port > 0)
      fmt::print("{}: {} requests, {} socket errors, {} non-2xx\n", t->name, t->s.requests,
                 t->s.errors, t->s.non_2xx);

  auto m = [](const std::vector<double>& v) { return median(v); };
  if (t_go.port > 0) {
    report("http_request", m(t_ours.s.ns_per_req), "go_nethttp", m(t_go.s.ns_per_req));
    report("http_p99", m(t_ours.s.p99_ns), "go_nethttp", m(t_go.s.p99_ns));
  } else {
    fmt::print("go is not installed: no Go peer\n");
  }
  report("http_request", m(t_ours.s.ns_per_req), "epoll_floor", m(t_epoll.s.ns_per_req));
  report("http_p99", m(t_ours.s.p99_ns), "epoll_floor", m(t_epoll.s.p99_ns));
  // The readiness source, measured where nothing else differs: epoll (what src/arch uses).
  report("http_floor_readiness", m(t_epoll.s.ns_per_req), "io_uring_floor",
         m(t_uring.s.ns_per_req));
  report("http_p99_live_ops", m(t_live.s.p99_ns), "quiet", m(t_quiet.s.p99_ns));
  bool clean = t_live.s.errors == 0 && t_live.s.non_2xx == 0 && t_ours.s.errors == 0 &&
               t_ours.s.non_2xx == 0;
  if (!clean) fmt::print("bench http: cpustop-httpd had socket errors or non-2xx responses\n");
  return clean ? 0 : 1;
}

registrar reg("http", "wrk against cpustop-httpd vs Go net/http and the epoll/io_uring floors",
              run);

}  // namespace

}  // namespace cpustop::bench
