// The floor servers (http_floor.h): a loop per pinned thread, readiness from epoll or from
// io_uring, then read(2) and one write(2) of every response the read completed.
#include "http_floor.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace cpustop::bench {

std::string hello_response(const char* date) {
  return std::string("HTTP/1.1 200 OK\r\nDate: ") + date +
         "\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello";
}

namespace {

constexpr std::uint64_t STOP_TOKEN = ~0ull, LISTEN_TOKEN = ~0ull - 1, CANCEL_TOKEN = ~0ull - 2;

// Per thread: the response of the current second and the request boundaries seen so far.
struct responder {
  std::time_t sec = 0;
  std::string response;
  std::vector<unsigned char> match;  // per fd: how much of "\r\n\r\n" the last read ended with
  std::string out;

  const std::string& hello() {
    std::time_t now = std::time(nullptr);
    if (now != sec) {
      std::tm tm;
      gmtime_r(&now, &tm);
      char date[32];
      std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
      response = hello_response(date);
      sec = now;
    }
    return response;
  }

  // Reads what fd has and answers each request it completed. False: close fd.
  bool serve(int fd) {
    char buf[16384];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return n < 0 && errno == EAGAIN;
    if (match.size() <= static_cast<std::size_t>(fd))
      match.resize(static_cast<std::size_t>(fd) + 1);
    unsigned char m = match[static_cast<std::size_t>(fd)];
    out.clear();
    static const char end[] = "\r\n\r\n";
    for (ssize_t i = 0; i < n; i++) {
      m = buf[i] == end[m] ? static_cast<unsigned char>(m + 1) : buf[i] == '\r' ? 1 : 0;
      if (m == 4) {
        out += hello();
        m = 0;
      }
    }
    match[static_cast<std::size_t>(fd)] = m;
    return out.empty() || ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size());
  }

  void accepted(int fd) {
    if (match.size() <= static_cast<std::size_t>(fd))
      match.resize(static_cast<std::size_t>(fd) + 1);
    match[static_cast<std::size_t>(fd)] = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
};

int listen_reuseport(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(*port));
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

void epoll_loop(int lfd, int stop) {
  responder r;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = LISTEN_TOKEN;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.u64 = STOP_TOKEN;
  epoll_ctl(ep, EPOLL_CTL_ADD, stop, &ev);
  std::vector<int> open;
  for (;;) {
    epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      std::uint64_t t = evs[i].data.u64;
      if (t == STOP_TOKEN) {
        for (int fd : open)
          if (fd >= 0) ::close(fd);
        ::close(ep);
        return;
      }
      if (t == LISTEN_TOKEN) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          r.accepted(c);
          epoll_event ce = {};
          ce.events = EPOLLIN;
          ce.data.u64 = static_cast<std::uint64_t>(c);
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
          open.push_back(c);
        }
        continue;
      }
      int fd = static_cast<int>(t);
      if (!r.serve(fd)) {
        ::close(fd);
        for (int& o : open)
          if (o == fd) o = -1;
      }
    }
  }
}

void uring_poll(io_uring* ring, int fd, std::uint64_t token) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (!sqe) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  io_uring_prep_poll_multishot(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, token);
}

void uring_loop(int lfd, int stop) {
  responder r;
  io_uring ring;
  if (io_uring_queue_init(1024, &ring, 0) != 0) return;
  uring_poll(&ring, lfd, LISTEN_TOKEN);
  uring_poll(&ring, stop, STOP_TOKEN);
  std::vector<int> open;
  for (;;) {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    bool stopping = false;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      std::uint64_t t = io_uring_cqe_get_data64(cqe);
      bool more = cqe->flags & IORING_CQE_F_MORE;
      if (t == STOP_TOKEN) {
        stopping = true;
      } else if (t == CANCEL_TOKEN) {
        continue;
      } else if (t == LISTEN_TOKEN) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          r.accepted(c);
          uring_poll(&ring, c, static_cast<std::uint64_t>(c));
          open.push_back(c);
        }
        if (!more) uring_poll(&ring, lfd, LISTEN_TOKEN);
      } else if (cqe->res >= 0) {
        int fd = static_cast<int>(t);
        if (!r.serve(fd)) {
          // Closing the fd does not end a poll request: cancel it, the file goes with it.
          io_uring_sqe* sqe = io_uring_get_sqe(&ring);
          if (sqe) {
            io_uring_prep_poll_remove(sqe, t);
            io_uring_sqe_set_data64(sqe, CANCEL_TOKEN);
          }
          ::close(fd);
          for (int& o : open)
            if (o == fd) o = -1;
        } else if (!more) {
          uring_poll(&ring, fd, t);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (stopping) break;
  }
  for (int fd : open)
    if (fd >= 0) ::close(fd);
  io_uring_queue_exit(&ring);
}

}  // namespace

struct floor_server::impl {
  floor_kind kind;
  int port = 0;
  int stop = -1;
  std::vector<int> listeners;
  std::vector<std::thread> threads;
};

floor_server::floor_server(floor_kind kind, unsigned threads) : p_(std::make_unique<impl>()) {
  p_->kind = kind;
  p_->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  for (unsigned i = 0; i < threads; i++) {
    int fd = listen_reuseport(&p_->port);
    if (fd < 0) return;
    p_->listeners.push_back(fd);
  }
  for (unsigned i = 0; i < threads; i++) {
    int lfd = p_->listeners[i], stop = p_->stop;
    p_->threads.emplace_back([kind, lfd, stop, i] {
      pin_self(i);
      if (kind == floor_kind::epoll)
        epoll_loop(lfd, stop);
      else
        uring_loop(lfd, stop);
    });
  }
}

floor_server::~floor_server() {
  std::uint64_t one = 1;
  if (write(p_->stop, &one, sizeof(one)) < 0) std::perror("floor_server: eventfd");
  for (auto& t : p_->threads) t.join();
  for (int fd : p_->listeners) ::close(fd);
  ::close(p_->stop);
}

bool floor_server::ok() const {
  return !p_->threads.empty() && p_->port > 0;
}
int floor_server::port() const {
  return p_->port;
}
const char* floor_server::name() const {
  return p_->kind == floor_kind::epoll ? "epoll_floor" : "io_uring_floor";
}

}  // namespace cpustop::bench
