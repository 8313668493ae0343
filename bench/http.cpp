// bench http: the real wrk against cpustop-httpd, a Go 1.19 net/http server with the same
// response, and the thread-per-core floors (epoll and io_uring), alternating in one run; then
// cpustop-httpd with its live operations against itself quiet.
//
//   wrk -t1 -c64 -d5s --latency (real-tools.md section 9), 5 rounds each, servers on the same
//   two cores as wrk. ns per request is 1e9 / (requests per second).
#include <fmt/core.h>

#include <cstdlib>
#include <memory>
#include <string_view>

#include "bench.h"
#include "bench_util.h"
#include "http_floor.h"
#include "loadgen.h"

namespace cpustop::bench {

namespace {

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

// One server under wrk: each round is one wrk run. ns per request is the round's result (what
// compare() and alternate() collect); the p99 and the error counts are kept beside it. A server
// that did not start (port 0) is not measured.
struct target {
  std::string name;
  int port = 0;
  int seconds = 5;
  spread p99;
  long errors = 0, non_2xx = 0, requests = 0;

  double round() {
    if (port <= 0) return -1;
    loadgen::wrk_result r = loadgen::run_wrk(port, seconds);
    if (!r.ok()) fmt::print(stderr, "bench http: wrk against {} failed:\n{}\n", name, r.text);
    p99.samples.push_back(r.ok() ? r.p99_ns : -1);
    errors += r.socket_errors;
    non_2xx += r.non_2xx;
    requests += r.requests;
    fmt::print("  {:<16} {:>9.0f} req/s  p50 {:>7.0f} us  p99 {:>7.0f} us  errors {}  non-2xx {}\n",
               name, r.requests_per_s, r.p50_ns / 1e3, r.p99_ns / 1e3, r.socket_errors, r.non_2xx);
    std::fflush(stdout);
    return r.ok() && r.requests_per_s > 0 ? 1e9 / r.requests_per_s : -1;
  }
  side as_side() {
    return {name, [this] { return round(); }};
  }
};

// The live operations' own report (cpustop-httpd --live-ops prints it at exit): what each cost.
void print_live_ops_report(std::string_view out) {
  fmt::print("cpustop-httpd --live-ops, what each operation cost:\n");
  while (!out.empty()) {
    std::size_t nl = out.find('\n');
    std::string_view line = out.substr(0, nl);
    if (line.rfind("op ", 0) == 0 || line.rfind("responses_", 0) == 0) fmt::print("  {}\n", line);
    if (nl == std::string_view::npos) break;
    out.remove_prefix(nl + 1);
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
  std::string go_bin = go_binary("http", GO_SERVER);
  std::unique_ptr<loadgen::server_process> go;
  if (!go_bin.empty())
    go = std::make_unique<loadgen::server_process>(std::vector<std::string>{go_bin},
                                                   std::vector<std::string>{"GOMAXPROCS=2"});
  else
    fmt::print("go is not installed: no Go peer\n");
  unsigned threads = std::min(hw_cpus(), 2u);
  floor_server epoll_floor(floor_kind::epoll, threads);
  floor_server uring_floor(floor_kind::io_uring, threads);

  target t_ours{"cpustop-httpd", ours.port(), seconds};
  target t_go{"go_nethttp", go && go->ok() ? go->port() : 0, seconds};
  target t_epoll{"epoll_floor", epoll_floor.ok() ? epoll_floor.port() : 0, seconds};
  target t_uring{"io_uring_floor", uring_floor.ok() ? uring_floor.port() : 0, seconds};
  section(fmt::format("http: wrk -t1 -c64 -d{}s --latency, servers on {} CPUs", seconds, threads));
  std::vector<spread> ns = compare("http_request", [&] { return t_ours.round(); },
                                   {t_go.as_side(), t_epoll.as_side(), t_uring.as_side()});
  report("http_p99", t_ours.p99, t_go.name, t_go.p99);
  report("http_p99", t_ours.p99, t_epoll.name, t_epoll.p99);
  // Where readiness comes from, measured where nothing else differs: epoll (src/arch's choice)
  // against io_uring multishot poll. Both floors also have their BENCH line against ours; a
  // BENCH line of one floor against the other would call a peer "ours".
  if (ns[2].measured() && ns[3].measured())
    fmt::print("readiness: epoll_floor {:.0f} ns/request, io_uring_floor {:.0f} (median of {})\n",
               ns[2].median(), ns[3].median(), ns[2].samples.size());

  section(
      "http: cpustop-httpd quiet vs with its live operations (stop_machine every 10 ms, "
      "affinity every 50 ms, cpu_down/cpu_up every 1 s, livepatch)");
  target t_quiet{"quiet", ours.port(), seconds};
  target t_live{"live_ops", live.port(), seconds};
  std::vector<spread> lq = alternate({t_live.as_side(), t_quiet.as_side()});
  report("http_request_live_ops", lq[0], t_quiet.name, lq[1]);
  report("http_p99_live_ops", t_live.p99, t_quiet.name, t_quiet.p99);
  std::string live_out;
  ours.stop();
  live.stop(&live_out);
  print_live_ops_report(live_out);

  for (const target* t : {&t_ours, &t_go, &t_epoll, &t_uring, &t_quiet, &t_live})
    if (t->port > 0)
      fmt::print("{}: {} requests, {} socket errors, {} non-2xx\n", t->name, t->requests, t->errors,
                 t->non_2xx);
  bool clean = t_live.errors == 0 && t_live.non_2xx == 0 && t_ours.errors == 0 &&
               t_ours.non_2xx == 0 && t_quiet.errors == 0 && t_quiet.non_2xx == 0;
  if (!clean) fmt::print("bench http: cpustop-httpd had socket errors or non-2xx responses\n");
  return clean ? 0 : 1;
}

registrar reg("http", "wrk against cpustop-httpd vs Go net/http and the epoll/io_uring floors",
              run);

}  // namespace

}  // namespace cpustop::bench
