// The client side of the control socket (see client.h).
#include "host/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "host/runtime_dir.h"

namespace cpustop::host {

client::~client() {
  if (fd_ >= 0) close(fd_);
}

int client::connect(pid_t pid, std::string* why) {
  dir_ = runtime_dir_find(pid);
  if (dir_.empty()) {
    *why = "no cpustop machine with pid " + std::to_string(pid) + " (nothing in " +
           runtime_base(geteuid()) + ")";
    return -ESRCH;
  }
  return connect_path(dir_ + "/ctl", why);
}

int client::connect_path(const std::string& path, std::string* why) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return *why = path + ": name too long", -ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return *why = std::strerror(errno), -errno;
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    *why = path + ": " + std::strerror(err);
    close(fd_);
    fd_ = -1;
    return -err;
  }
  return 0;
}

int client::call(const std::vector<std::string>& argv, reply* out, std::string* why) {
  char cwd[PATH_MAX];
  bool known = getcwd(cwd, sizeof(cwd)) && cwd[0] == '/';  // not "(unreachable)/..."
  return call_raw(encode_request(argv, known ? cwd : ""), out, why);
}

int client::call_raw(const std::string& bytes, reply* out, std::string* why) {
  if (fd_ < 0) return *why = "not connected", -ENOTCONN;
  for (std::size_t off = 0; off < bytes.size();) {
    ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may refuse before reading everything: read its reply
    off += static_cast<std::size_t>(n);
  }
  for (;;) {
    std::size_t used = 0;
    parse_result r = parse_reply(buf_, out, &used);
    if (r == parse_result::ok) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(used));
      return 0;
    }
    if (r != parse_result::incomplete) return *why = "bad reply: " + parse_result_text(r), -EPROTO;
    std::uint8_t chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return *why = "the machine closed the connection", -ECONNRESET;
    buf_.insert(buf_.end(), chunk, chunk + n);
  }
}

}  // namespace cpustop::host
