// cpustop-httpd (examples/httpd) from the outside, over loopback: keep-alive round trips on 1..8
// CPUs, malformed requests, slowloris, resets, 10,000 idle connections, descriptors and memory
// back to their baseline, and the live operations under load. The clients are plain OS threads.
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "loadgen.h"
#include "net_util.h"
#include "server.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
// ASan's own count of live heap bytes (GCC ships no sanitizer/allocator_interface.h).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace cpustop {
namespace {

using test::count_open_fds;

std::size_t allocated_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

// A blocking client socket with a receive timeout, so that a broken server fails the test
// instead of hanging it.
int client_connect(int port, int timeout_ms = 10000) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -errno;
  }
  return fd;
}

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct response {
  int status = 0;
  std::string head, body;
  bool closed = false;  // the server closed the connection after it
};

// Reads one response (Content-Length framed) from fd; leftover bytes stay in *buf.
bool read_response(int fd, std::string* buf, response* r) {
  *r = response{};
  for (;;) {
    std::size_t end = buf->find("\r\n\r\n");
    if (end != std::string::npos) {
      r->head = buf->substr(0, end + 4);
      std::size_t cl = r->head.find("Content-Length: ");
      std::size_t len = cl == std::string::npos ? 0 : std::stoul(r->head.substr(cl + 16));
      if (buf->size() >= end + 4 + len) {
        r->body = buf->substr(end + 4, len);
        buf->erase(0, end + 4 + len);
        r->status = std::atoi(r->head.c_str() + 9);
        return true;
      }
    }
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf->append(tmp, static_cast<std::size_t>(n));
  }
}

// Whether the server closed fd (end of stream) within the receive timeout.
bool closed_by_server(int fd) {
  char c;
  for (;;) {
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

class httpd_test : public test::machine {
 protected:
  void SetUp() override {
    test::machine::SetUp();
    opts.port = 0;
    opts.conn_stack = 64 * 1024;  // room for the sanitizers' frames
  }
  int start() {
    int err = srv.start(opts);
    return err ? err : srv.port();
  }
  void TearDown() override {
    srv.stop();
    EXPECT_EQ(srv.stats().open, 0u);
    test::machine::TearDown();
  }
  httpd::options opts;
  httpd::server srv;
};
CPUSTOP_INSTANTIATE(httpd_test);

TEST_P(httpd_test, keep_alive_round_trips) {
  int port = start();
  ASSERT_GT(port, 0);
  int fd = client_connect(port);
  ASSERT_GE(fd, 0);
  std::string buf;
  response r;
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(send_all(fd, get("/")));
    ASSERT_TRUE(read_response(fd, &buf, &r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
    EXPECT_NE(r.head.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(r.head.find("Date: "), std::string::npos);
  }
  ASSERT_TRUE(send_all(fd, get("/hello?name=tux")));
  ASSERT_TRUE(read_response(fd, &buf, &r));
  EXPECT_EQ(r.body.rfind("hello, tux from cpu ", 0), 0u) << r.body;
  ASSERT_TRUE(send_all(fd, get("/missing")));
  ASSERT_TRUE(read_response(fd, &buf, &r));
  EXPECT_EQ(r.status, 404);
  // Three pipelined requests in one segment, answered in order.
  ASSERT_TRUE(send_all(fd, get("/") + get("/hello?name=a") + get("/")));
  for (std::string want : {"hello", "hello, a", "hello"}) {
    ASSERT_TRUE(read_response(fd, &buf, &r));
    EXPECT_EQ(r.body.rfind(want, 0), 0u);
  }
  // HTTP/1.0 closes unless asked to keep alive; Connection: close is honoured.
  ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(read_response(fd, &buf, &r));
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  fd = client_connect(port);
  ASSERT_TRUE(send_all(fd, "GET / HTTP/1.0\r\n\r\n"));
  buf.clear();
  ASSERT_TRUE(read_response(fd, &buf, &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
}

// Malformed requests get 400 (or the precise 4xx/5xx) and a closed connection; the server goes on
// serving everyone else.
TEST_P(httpd_test, malformed_requests_get_400_and_close) {
  int port = start();
  ASSERT_GT(port, 0);
  struct bad {
    std::string req;
    int status;
  };
  std::string huge = "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(10000, 'a') + "\r\n\r\n";
  const bad cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: t\n\n", 400},  // bare LF
      {"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400},
      {std::string("GET / HTTP/1.1\r\nHost: t\0\r\n\r\n", 27), 400},
      {"GET / HTTP/1.1\r\nHost t\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET relative HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"G\x01T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413},
      {huge, 431},
      {"POST / HTTP/1.1\r\nHost: t\r\n\r\n", 405},
  };
  for (const bad& c : cases) {
    int fd = client_connect(port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, c.req));
    std::string buf;
    response r;
    ASSERT_TRUE(read_response(fd, &buf, &r)) << c.req;
    EXPECT_EQ(r.status, c.status) << c.req;
    EXPECT_NE(r.head.find("Connection: close"), std::string::npos) << c.req;
    EXPECT_TRUE(closed_by_server(fd)) << c.req;
    ::close(fd);
  }
  // Still serving.
  int fd = client_connect(port);
  ASSERT_TRUE(send_all(fd, get("/")));
  std::string buf;
  response r;
  ASSERT_TRUE(read_response(fd, &buf, &r));
  EXPECT_EQ(r.status, 200);
  ::close(fd);
  EXPECT_GE(srv.stats().responses_4xx, 14u);
}

// A head that trickles in too slowly gets 408 and is closed; an idle keep-alive connection is
// closed; neither holds anything once gone.
TEST_P(httpd_test, slowloris_and_idle_connections_time_out) {
  opts.header_timeout_ms = 200;
  opts.idle_timeout_ms = 300;
  int port = start();
  ASSERT_GT(port, 0);
  int slow = client_connect(port);
  ASSERT_TRUE(send_all(slow, "GET / HTTP/1.1\r\nHo"));
  std::string buf;
  response r;
  ASSERT_TRUE(read_response(slow, &buf, &r));
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(closed_by_server(slow));
  ::close(slow);
  int idle = client_connect(port);
  ASSERT_TRUE(send_all(idle, get("/")));
  buf.clear();
  ASSERT_TRUE(read_response(idle, &buf, &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(closed_by_server(idle));  // after idle_timeout_ms without a request
  ::close(idle);
  EXPECT_GE(srv.stats().timeouts, 2u);
}

// A client that resets in the middle of a large response costs its own connection only.
TEST_P(httpd_test, reset_mid_response_costs_nothing_else) {
  int port = start();
  ASSERT_GT(port, 0);
  int other = client_connect(port);
  std::string obuf;
  response r;
  for (int i = 0; i < 5; i++) {
    int fd = client_connect(port);
    ASSERT_TRUE(send_all(fd, get("/bytes?n=50000000")));
    char tmp[65536];
    ASSERT_GT(::recv(fd, tmp, sizeof(tmp), 0), 0);
    linger lg = {1, 0};  // close now, with RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ::close(fd);
    ASSERT_TRUE(send_all(other, get("/")));
    ASSERT_TRUE(read_response(other, &obuf, &r));
    EXPECT_EQ(r.status, 200);
  }
  ::close(other);
  for (int i = 0; i < 5000 && srv.stats().open > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(srv.stats().open, 0u);
  EXPECT_GE(srv.stats().resets, 5u);
}

// After a load of many short and long connections, the descriptors are back to where they were
// and so is the heap (under ASan: its allocator's own count).
TEST_P(httpd_test, descriptors_and_memory_back_to_baseline) {
  if (ncpus() != 2) GTEST_SKIP() << "once is enough";
  int port = start();
  ASSERT_GT(port, 0);
  auto load = [&](int conns, int reqs) {
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; t++)
      clients.emplace_back([&, t] {
        for (int c = t; c < conns; c += 4) {
          int fd = client_connect(port);
          std::string buf;
          response r;
          for (int i = 0; i < reqs && fd >= 0; i++)
            if (!send_all(fd, get(i % 2 ? "/" : "/hello")) || !read_response(fd, &buf, &r)) break;
          ::close(fd);
        }
      });
    for (auto& c : clients) c.join();
    for (int i = 0; i < 10000 && srv.stats().open > 0; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  load(200, 5);  // warm: stack pools, thread caches, the offload-free steady state
  int fds = count_open_fds();
  std::size_t heap = allocated_bytes();
  load(2000, 10);
  EXPECT_EQ(srv.stats().open, 0u);
  EXPECT_EQ(count_open_fds(), fds);
  std::size_t after = allocated_bytes();
  EXPECT_LE(after, heap + 256 * 1024) << "heap grew from " << heap << " to " << after;
  EXPECT_EQ(net::get_net_stats().sockets, static_cast<std::uint64_t>(ncpus()));  // listeners
}

// The live operations run under load from several clients: every response is a 200 with one
// of the table's bodies (never a torn one), and every operation ran without failing.
TEST_P(httpd_test, live_operations_under_load_lose_nothing) {
  if (ncpus() < 2 || ncpus() > 4) GTEST_SKIP() << "2 and 4 CPUs";
  opts.live_ops = true;
  int port = start();
  ASSERT_GT(port, 0);
  std::vector<std::string> bodies = httpd::response_bodies();
  std::atomic<bool> stop{false};
  std::atomic<long> good{0}, bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; t++)
    clients.emplace_back([&] {
      int fd = client_connect(port);
      std::string buf;
      response r;
      while (!stop.load()) {
        if (!send_all(fd, get("/")) || !read_response(fd, &buf, &r)) {
          bad++;
          ADD_FAILURE() << "connection lost: errno " << errno;
          break;
        }
        bool known = r.status == 200 && (r.body == bodies[0] || r.body == bodies[1]);
        (known ? good : bad)++;
        if (!known) ADD_FAILURE() << r.head << r.body;
      }
      ::close(fd);
    });
  // Long enough for two hotplug cycles and a livepatch round trip.
  for (int i = 0; i < 2500; i++) {
    httpd::server_stats st = srv.stats();
    bool all = true;
    for (const auto& op : st.ops) all = all && op.count >= 2;
    if (all && i > 2000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(good.load(), 0);
  httpd::server_stats st = srv.stats();
  for (const auto& op : st.ops) {
    EXPECT_GE(op.count, 1u) << op.name;
    EXPECT_EQ(op.failed, 0u) << op.name;
  }
  EXPECT_EQ(st.responses_4xx + st.responses_5xx, 0u);
}

// A counter from the program's /stats.
long remote_stat(int port, const std::string& name) {
  int fd = client_connect(port);
  std::string buf;
  response r;
  bool ok = fd >= 0 && send_all(fd, get("/stats")) && read_response(fd, &buf, &r);
  if (fd >= 0) ::close(fd);
  std::size_t at = ok ? r.body.find(name + " ") : std::string::npos;
  return at == std::string::npos ? -1 : std::atol(r.body.c_str() + at + name.size() + 1);
}

std::vector<std::string> httpd_argv(std::vector<std::string> args) {
  args.insert(args.begin(), loadgen::exe_dir() + "/cpustop-httpd");
  return args;
}

// 10,000 idle connections are held by the program (a task each, asleep), all of them answer,
// and the server's descriptors go back to what they were.
TEST(httpd_program, holds_ten_thousand_idle_connections) {
#if defined(__SANITIZE_THREAD__)
  // TSan gives every task a thread context of its own (CreateThreadContext): 10,000 of them take
  // minutes to create. The count, not the code, is what ASan and release check.
  constexpr int kConns = 1000;
#else
  constexpr int kConns = 10000;
#endif
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < kConns + 100) GTEST_SKIP() << "RLIMIT_NOFILE is below 10,100";
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  loadgen::server_process srv(httpd_argv({"--cpus", "2", "--port", "0"}));
  ASSERT_TRUE(srv.ok());
  int fds_before = srv.open_fds();
  std::vector<int> fds;
  fds.reserve(kConns);
  for (int i = 0; i < kConns; i++) {
    int fd = client_connect(srv.port(), 60000);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  // /stats itself is one more connection.
  long open = 0;
  for (int i = 0; i < 1000 && (open = remote_stat(srv.port(), "open")) < kConns + 1; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(open, kConns + 1);
  EXPECT_GE(srv.open_fds(), fds_before + kConns);
  std::string req = get("/");
  for (int fd : fds) ASSERT_TRUE(send_all(fd, req));
  int ok = 0;
  for (int fd : fds) {
    std::string buf;
    response r;
    if (read_response(fd, &buf, &r) && r.status == 200) ok++;
  }
  EXPECT_EQ(ok, kConns);
  for (int fd : fds) ::close(fd);
  for (int i = 0; i < 1000 && (open = remote_stat(srv.port(), "open")) != 1; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(open, 1);
  for (int i = 0; i < 1000 && srv.open_fds() != fds_before; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(srv.open_fds(), fds_before);
  EXPECT_EQ(srv.stop(), 0);
}

// The real wrk against the program while its live operations run: not one socket error, not
// one non-2xx answer, and every operation ran and succeeded.
TEST(httpd_program, wrk_under_live_operations) {
  if (!loadgen::have_wrk()) GTEST_SKIP() << "wrk is not installed";
  loadgen::server_process srv(httpd_argv({"--cpus", "2", "--port", "0", "--live-ops"}));
  ASSERT_TRUE(srv.ok());
  // A response slower than 60 s is an error; a slow host is not.
  loadgen::wrk_result r = loadgen::run_wrk(srv.port(), 3, 32, "/", 60);
  ASSERT_TRUE(r.ok()) << r.text;
  EXPECT_GT(r.requests, 0);
  EXPECT_EQ(r.socket_errors, 0) << r.text;
  EXPECT_EQ(r.non_2xx, 0) << r.text;
  std::string out;
  EXPECT_EQ(srv.stop(&out), 0) << out;
  for (const char* op : {"stop_machine", "sched_setaffinity", "cpu_down", "cpu_up", "livepatch"}) {
    std::size_t at = out.find(std::string("op ") + op + " count=");
    ASSERT_NE(at, std::string::npos) << out;
    EXPECT_GT(std::atol(out.c_str() + at + std::strlen(op) + 10), 0) << op << "\n" << out;
    EXPECT_EQ(out.find("failed=0", at), out.find("failed=", at)) << op << "\n" << out;
  }
  EXPECT_NE(out.find("responses_4xx 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("responses_5xx 0\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace cpustop
