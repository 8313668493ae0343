// The control socket's server side (see control_socket.h).
#include "host/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cpustop::host {

namespace {

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void send_refusal(int fd, const std::string& why) {
  reply r;
  r.refused = true;
  r.status = 2;
  r.err = why + "\n";
  send_all(fd, encode_reply(r));
}

}  // namespace

bool peer_allowed(const ucred& peer, uid_t owner) {
  return peer.uid == owner || peer.uid == 0;
}

int control_socket::start(const std::string& path, handler h) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  unlink(path.c_str());
  // The directory is 0700 already, so nobody else reaches the socket before it is 0600.
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      chmod(path.c_str(), 0600) != 0 || listen(fd, 64) != 0 || pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    int err = -errno;
    close(fd);
    unlink(path.c_str());
    return err;
  }
  path_ = path;
  handler_ = std::move(h);
  listen_fd_ = fd;
  stopping_ = false;
  acceptor_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cpustop/ctl");
    accept_loop();
  });
  return 0;
}

void control_socket::stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  char c = 0;
  (void)!write(stop_pipe_[1], &c, 1);  // wakes the acceptor and every idle client
  acceptor_.join();
  {
    std::lock_guard g(clients_lock_);
    for (client& cl : clients_) cl.thread.join();
    clients_.clear();
  }
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(path_.c_str());
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
  stop_pipe_[0] = stop_pipe_[1] = -1;
}

void control_socket::reap_finished() {
  std::lock_guard g(clients_lock_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

void control_socket::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stopping_ || fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ucred peer{};
    socklen_t len = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
        !peer_allowed(peer, geteuid())) {
      send_refusal(fd, "permission denied: this machine belongs to uid " +
                           std::to_string(geteuid()) + " (uid " + std::to_string(peer.uid) +
                           " may not attach)");
      close(fd);
      continue;
    }
    reap_finished();
    std::lock_guard g(clients_lock_);
    if (clients_.size() >= MAX_CLIENTS) {
      send_refusal(fd, "busy: " + std::to_string(MAX_CLIENTS) + " clients are attached");
      close(fd);
      continue;
    }
    client& cl = clients_.emplace_back();
    cl.thread = std::thread([this, fd, &cl] {
      pthread_setname_np(pthread_self(), "cpustop/attach");
      serve(fd);
      close(fd);
      cl.done = true;
    });
  }
}

void control_socket::serve(int fd) {
  ucred peer{};
  socklen_t len = sizeof(peer);
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len);
  std::vector<std::uint8_t> buf;
  for (;;) {
    // Every whole request in the buffer first, in order.
    for (;;) {
      request req;
      std::size_t used = 0;
      std::uint16_t version = 0;
      parse_result r = parse_request(buf, &req, &used, &version);
      if (r == parse_result::incomplete) break;
      if (r != parse_result::ok) {
        send_refusal(fd, parse_result_text(r, version));
        return;
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(used));
      if (!send_all(fd, encode_reply(handler_(req, peer)))) return;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int n = poll(fds, 2, IDLE_TIMEOUT_MS);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || fds[1].revents || stopping_) {
      if (!buf.empty()) send_refusal(fd, parse_result_text(parse_result::incomplete));
      return;
    }
    std::uint8_t chunk[16384];
    ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (!buf.empty()) send_refusal(fd, parse_result_text(parse_result::incomplete));
      return;
    }
    buf.insert(buf.end(), chunk, chunk + got);
  }
}

}  // namespace cpustop::host
