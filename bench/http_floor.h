// The floor for an HTTP server on this machine: plain thread-per-core C++ servers with no
// runtime at all, one thread per hardware CPU (pinned), each with its own SO_REUSEPORT listener,
// answering every request with the static route's bytes. Two twins that differ only in where
// readiness comes from: epoll(7), or io_uring multishot poll (then the same read and write).
#pragma once

#include <memory>
#include <string>

namespace cpustop::bench {

enum class floor_kind { epoll, io_uring };

class floor_server {
 public:
  floor_server(floor_kind kind, unsigned threads);
  ~floor_server();
  bool ok() const;
  int port() const;
  const char* name() const;

  struct impl;

 private:
  std::unique_ptr<impl> p_;
};

// The static route's response, as cpustop-httpd and Go's net/http send it, with today's date.
std::string hello_response(const char* date);

}  // namespace cpustop::bench
