// The control socket: a unix stream socket (mode 0600 in a 0700 directory) that only the
// machine's own user (the same euid) or root may use: SO_PEERCRED is checked before anything is
// read, and anyone else gets a refusal and nothing runs. One thread accepts; each client has a
// thread that reads requests, runs each through the handler and writes its reply, so clients do
// not wait for each other. A bad frame gets a refusal and the connection is closed; an idle client
// is dropped after a minute. The threads are named cpustop/ctl (accepting) and cpustop/attach
// (serving): events they record, such as the fork of a command's task, carry that name and their
// thread id.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "host/protocol.h"

namespace cpustop::host {

class control_socket {
 public:
  using handler = std::function<reply(const request& req, const ucred& peer)>;
  static constexpr unsigned MAX_CLIENTS = 64;
  static constexpr int IDLE_TIMEOUT_MS = 60000;

  control_socket() = default;
  control_socket(const control_socket&) = delete;
  control_socket& operator=(const control_socket&) = delete;
  ~control_socket() { stop(); }

  // Listens at path (replacing a stale socket there). 0 or -errno.
  int start(const std::string& path, handler h);
  // Refuses new clients, drops idle ones, waits for the commands that are running, and removes
  // the socket. Idempotent.
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  void reap_finished();

  std::string path_;
  handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex clients_lock_;
  struct client {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<client> clients_;
};

// Whether a peer may use a machine owned by euid `owner`: the same euid, or root.
bool peer_allowed(const ucred& peer, uid_t owner);

}  // namespace cpustop::host
