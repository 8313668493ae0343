// cpustop-httpd's server: one SO_REUSEPORT listener and one acceptor task per CPU, one task per
// connection (HTTP/1.1 keep-alive), on a booted cpustop machine.
//
// Routes:
//   GET /             the static response, from the response table ("hello", the same bytes as
//                     the Go peer's net/http answer)
//   GET /hello?name=X a small dynamic answer: "hello, X from cpu N (pid P)\n"
//   GET /bytes?n=N    N bytes of a pattern (N <= 64 MiB), for large responses
//   GET /stats        the server's counters and the live operations' latencies, as text
// Anything malformed gets 400 and the connection closes; a request head must arrive within
// header_timeout_ms of its first byte (slowloris), an idle keep-alive connection closes after
// idle_timeout_ms, and a client that does not read its response for idle_timeout_ms is dropped.
//
// Live operations (options::live_ops), each from a task of its own while the server serves:
// stop_machine every 10 ms rewriting the response table in place (readers copy it with
// preemption off, so no response ever mixes two tables), a sched_setaffinity move of a connection
// task every 50 ms, cpu_down/cpu_up of the last CPU every second, and a livepatch of the request
// handler applied and reverted every second.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace httpd {

struct options {
  int port = 8080;                 // 0: an ephemeral port (see server::port())
  std::string bind = "127.0.0.1";  // the address to listen on
  std::int64_t idle_timeout_ms = 60000;
  std::int64_t header_timeout_ms = 10000;
  bool live_ops = false;
  std::size_t conn_stack = 32 * 1024;  // stack of a connection task
};

// One live operation's cost: how long each call took.
struct op_stats {
  std::string name;
  std::uint64_t count = 0, failed = 0;
  double median_us = 0, p99_us = 0, max_us = 0;
};

struct server_stats {
  std::uint64_t requests = 0, responses_2xx = 0, responses_4xx = 0, responses_5xx = 0;
  std::uint64_t accepted = 0, open = 0, timeouts = 0, resets = 0;
  std::vector<op_stats> ops;
};

class server {
 public:
  server();
  ~server();
  // After boot(): listeners and acceptors on every CPU (and the live operations). 0, or a negative
  // errno (the port is taken: -EADDRINUSE), with nothing left running.
  int start(const options& opts);
  // Stops accepting, interrupts every connection (kill) and waits until every task has exited.
  // From outside cpustop (the thread that booted the machine).
  void stop();
  int port() const;
  server_stats stats() const;
  // /stats, as the route shows it.
  std::string stats_text() const;

  struct state;

 private:
  std::unique_ptr<state> s_;
};

// The response table: the static route's body, rewritten in place by the live operations.
// Returns the bodies a response may carry ("hello" and the alternate one).
std::vector<std::string> response_bodies();

}  // namespace httpd
