// The client side of the control socket: what `cpustop attach`, `list`, `enter` and the attach
// benchmark use to reach a running machine.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "host/protocol.h"

namespace cpustop::host {

class client {
 public:
  client() = default;
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client();

  // Connects to machine pid (found with runtime_dir_find). 0, or -errno with *why in words.
  int connect(pid_t pid, std::string* why);
  int connect_path(const std::string& socket_path, std::string* why);
  // One request, one reply, with this process's working directory (when it has one) so that
  // relative file names in argv are this process's. 0, or -errno (connection lost, bad reply)
  // with *why.
  int call(const std::vector<std::string>& argv, reply* out, std::string* why);
  // Sends raw bytes (tests of the server's refusals) and reads one reply.
  int call_raw(const std::string& bytes, reply* out, std::string* why);
  const std::string& dir() const { return dir_; }

 private:
  int fd_ = -1;
  std::string dir_;
  std::vector<std::uint8_t> buf_;
};

}  // namespace cpustop::host
