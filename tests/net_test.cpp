// Sockets for tasks (cpustop/net.h), on loopback: round trips on 1..8 CPUs, many connections on
// few CPUs, streams that survive taskset and cpu_down, sleepers that leave their CPU to others,
// readiness that preempts a lower class, the kernel's return values, poll, and the offload pool.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "net_util.h"
#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

// A listening loopback socket on an ephemeral port.
int listen_loopback(int* port, int backlog = 128) {
  int fd = net::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
  if (fd < 0) return fd;
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = net::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (!err) err = net::listen(fd, backlog);
  socklen_t len = sizeof(a);
  if (!err) err = net::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (err) {
    net::close(fd);
    return err;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

sockaddr_in loopback(int port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

// A task's connect to the loopback port.
int connect_loopback(int port, int type = SOCK_STREAM) {
  int fd = net::socket(AF_INET, type);
  if (fd < 0) return fd;
  sockaddr_in a = loopback(port);
  int err = net::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (err) {
    net::close(fd);
    return err;
  }
  return fd;
}

// An OS socket for threads outside cpustop (the "remote peer").
int os_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -errno;
  }
  return fd;
}

bool read_exact(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = net::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

using test::count_open_fds;

// A task (name, attr) that accepts one connection on a loopback listener and reads one byte from
// it; the peer is an OS socket outside cpustop, which send() writes to. `done` is set once the
// byte was read.
struct one_byte_reader {
  int lfd = -1, peer = -1;
  std::atomic<int> cfd{-1};
  std::atomic<bool> done{false};
  std::atomic<char> got{0};
  pid_t pid = -1;

  bool start(const char* name, const task_attr& attr) {
    int port = 0;
    lfd = listen_loopback(&port);
    if (lfd < 0) return false;
    pid = spawn(
        name,
        [this] {
          int fd = net::accept4(lfd, nullptr, nullptr);
          cfd = fd;
          char c = 0;
          ssize_t n = net::read(fd, &c, 1);
          got = c;
          done = true;
          net::close(fd);
          return n == 1 ? 0 : 1;
        },
        attr);
    peer = os_connect(port);
    return pid > 0 && peer >= 0;
  }
  // Whether the reader has its connection and sleeps in S on it.
  bool asleep() const {
    task_info ti;
    return cfd.load() >= 0 && task_get_info(pid, &ti) == 0 && ti.state == 'S';
  }
  bool send(char c) const { return ::write(peer, &c, 1) == 1; }
  // Joins the reader: its exit code (0: it read one byte).
  int finish() {
    int code = -1;
    if (join(pid, &code) != 0) code = -1;
    ::close(peer);
    if (net::close(lfd) != 0) code = -1;
    return code;
  }
};

class net_test : public test::machine {};
CPUSTOP_INSTANTIATE(net_test);

// An echo server task per connection; clients on every CPU check what comes back.
TEST_P(net_test, echo_round_trips_on_every_cpu) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  const int kClients = static_cast<int>(ncpus()) * 2;
  const int kRounds = 50;
  pid_t server = spawn("echo-srv", [&] {
    std::vector<pid_t> conns;
    for (int i = 0; i < kClients; i++) {
      int cfd = net::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd < 0) return cfd;
      conns.push_back(spawn("echo-conn", [cfd] {
        char buf[512];
        for (;;) {
          ssize_t n = net::read(cfd, buf, sizeof(buf));
          if (n <= 0) break;
          if (net::write(cfd, buf, static_cast<size_t>(n)) != n) break;
        }
        net::close(cfd);
      }));
    }
    for (pid_t c : conns) join(c, nullptr);
    return 0;
  });
  ASSERT_GT(server, 0);
  std::vector<pid_t> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kClients; i++) {
    clients.push_back(spawn(
        "echo-cli",
        [&, i] {
          int fd = connect_loopback(port);
          if (fd < 0) return;
          bool good = true;
          for (int r = 0; r < kRounds && good; r++) {
            char msg[64], back[64];
            int len = std::snprintf(msg, sizeof(msg), "client %d round %d on cpu %d", i, r,
                                    smp_processor_id());
            good = net::write(fd, msg, static_cast<size_t>(len)) == len &&
                   read_exact(fd, back, static_cast<size_t>(len)) &&
                   std::memcmp(msg, back, static_cast<size_t>(len)) == 0;
          }
          net::close(fd);
          if (good) ok++;
        },
        on_cpu(static_cast<unsigned>(i) % ncpus())));
  }
  for (pid_t c : clients) ASSERT_EQ(join(c, nullptr), 0);
  int code = -1;
  ASSERT_EQ(join(server, &code), 0);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_EQ(net::close(lfd), 0);
  EXPECT_EQ(net::get_net_stats().sockets, 0u);
}

// Many connections held by few CPUs: every one answers, then every descriptor is gone.
TEST_P(net_test, many_connections_on_few_cpus) {
  if (ncpus() > 2) GTEST_SKIP() << "few CPUs";
  int before = count_open_fds();
  int port = 0;
  int lfd = listen_loopback(&port, 512);
  ASSERT_GE(lfd, 0);
  constexpr int kConns = 300;
  std::atomic<int> served{0};
  pid_t server = spawn("many-srv", [&] {
    std::vector<pid_t> conns;
    for (int i = 0; i < kConns; i++) {
      int cfd = net::accept4(lfd, nullptr, nullptr);
      if (cfd < 0) return cfd;
      task_attr a;
      a.stack_size = 16 * 1024;
      conns.push_back(spawn(
          "many-conn",
          [cfd, &served] {
            char c;
            if (net::read(cfd, &c, 1) == 1 && net::write(cfd, &c, 1) == 1) served++;
            net::close(cfd);
          },
          a));
    }
    for (pid_t c : conns) join(c, nullptr);
    return 0;
  });
  std::atomic<int> answered{0};
  EXPECT_EQ(run_task([&] {
              std::vector<int> fds;
              for (int i = 0; i < kConns; i++) fds.push_back(connect_loopback(port));
              // Every connection is open (and its task asleep) before any of them speaks.
              for (int fd : fds) {
                char c = 'x';
                if (fd >= 0 && net::write(fd, &c, 1) == 1 && net::read(fd, &c, 1) == 1 && c == 'x')
                  answered++;
              }
              for (int fd : fds) net::close(fd);
              return 0;
            }),
            0);
  ASSERT_EQ(join(server, nullptr), 0);
  EXPECT_EQ(served.load(), kConns);
  EXPECT_EQ(answered.load(), kConns);
  EXPECT_EQ(net::close(lfd), 0);
  EXPECT_EQ(count_open_fds(), before);
}

// A byte stream whose reader is moved by sched_setaffinity (taskset) and by cpu_down while it
// reads arrives whole and in order: the writer sends one chunk after each move.
TEST_P(net_test, stream_survives_taskset_and_cpu_down) {
  if (ncpus() < 2) GTEST_SKIP() << "needs two CPUs";
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  constexpr int kMoves = 12;
  constexpr std::uint32_t kChunk = 16384;  // words per chunk
  constexpr std::uint32_t kWords = kChunk * (kMoves + 1);
  std::atomic<std::uint32_t> got{0};
  std::atomic<bool> intact{true};
  std::atomic<pid_t> reader_pid{0};
  std::atomic<int> moves{0};
  pid_t reader = spawn("stream-rd", [&] {
    int cfd = net::accept4(lfd, nullptr, nullptr);
    if (cfd < 0) return cfd;
    reader_pid = getpid();
    std::uint32_t next = 0;
    std::uint32_t buf[256];
    std::size_t have = 0;  // bytes of a partial word carried over
    auto* bytes = reinterpret_cast<char*>(buf);
    while (next < kWords) {
      ssize_t n = net::read(cfd, bytes + have, sizeof(buf) - have);
      if (n <= 0) break;
      have += static_cast<std::size_t>(n);
      std::size_t words = have / 4;
      for (std::size_t i = 0; i < words; i++)
        if (buf[i] != next++) intact = false;
      std::memmove(bytes, bytes + words * 4, have % 4);
      have %= 4;
      got = next;
    }
    net::close(cfd);
    return 0;
  });
  pid_t writer = spawn(
      "stream-wr",
      [&] {
        int fd = connect_loopback(port);
        if (fd < 0) return fd;
        std::vector<std::uint32_t> buf(kChunk);
        for (int chunk = 0; chunk <= kMoves; chunk++) {
          while (moves.load() < chunk) msleep(1);
          for (std::uint32_t i = 0; i < kChunk; i++)
            buf[i] = static_cast<std::uint32_t>(chunk) * kChunk + i;
          if (net::write(fd, buf.data(), kChunk * 4) != static_cast<ssize_t>(kChunk * 4)) break;
        }
        net::close(fd);
        return 0;
      },
      on_cpu(0));
  while (reader_pid.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  unsigned last = ncpus() - 1;
  for (int i = 0; i < kMoves; i++) {
    // Each move waits until the reader has the chunk before it, so it lands mid-stream.
    while (got.load() < static_cast<std::uint32_t>(i + 1) * kChunk && intact.load())
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (i % 3 == 2) {
      EXPECT_EQ(cpu_down(last), 0);
      EXPECT_EQ(cpu_up(last), 0);
    } else {
      EXPECT_EQ(
          sched_setaffinity(reader_pid.load(), cpumask::of(static_cast<unsigned>(i) % ncpus())), 0);
    }
    moves++;
  }
  ASSERT_EQ(join(writer, nullptr), 0);
  ASSERT_EQ(join(reader, nullptr), 0);
  EXPECT_EQ(got.load(), kWords);
  EXPECT_TRUE(intact.load());
  EXPECT_EQ(net::close(lfd), 0);
}

// A task that sleeps on a socket leaves its CPU to others: a spinner on the same CPU runs on,
// and ps shows the sleeper in S. Data from outside wakes it.
TEST_P(net_test, sleeper_on_a_socket_does_not_hold_its_cpu) {
  one_byte_reader r;
  std::atomic<long> spins{0};
  ASSERT_TRUE(r.start("sleeper", on_cpu(0)));
  pid_t spinner = spawn(
      "spinner",
      [&] {
        while (!r.done.load()) {
          spins++;
          cond_resched();
        }
      },
      on_cpu(0));
  for (int i = 0; i < 10000 && !(r.asleep() && spins.load() > 1000); i++)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  EXPECT_TRUE(r.asleep());
  // The spinner keeps going while the sleeper sleeps (the host may hold our CPU thread for a
  // while on a busy machine: wait for progress, do not time it).
  long before = spins.load();
  for (int i = 0; i < 20000 && spins.load() == before; i++)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  EXPECT_GT(spins.load(), before) << "the spinner stopped while the sleeper slept";
  EXPECT_TRUE(r.asleep());
  std::string ps = ps_table();
  EXPECT_NE(ps.find(" S "), std::string::npos) << ps;
  ASSERT_TRUE(r.send('w'));
  EXPECT_EQ(r.finish(), 0);
  EXPECT_EQ(r.got.load(), 'w');
  ASSERT_EQ(join(spinner, nullptr), 0);
}

// Readiness wakes an RT task that preempts the fair spinner holding its CPU, as any wakeup of a
// higher class does: the spinner only stops when the RT task has read its data.
TEST_P(net_test, readiness_wakeup_preempts_a_lower_class) {
  one_byte_reader r;
  std::atomic<bool> spinning{false};
  ASSERT_TRUE(r.start("rt-reader", on_cpu(0, SCHED_FIFO, 10)));
  pid_t spinner = spawn(
      "fair-spin",
      [&] {
        spinning = true;
        while (!r.done.load()) cond_resched();
      },
      on_cpu(0));
  while (!(spinning.load() && r.asleep()))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ASSERT_TRUE(r.send('r'));
  EXPECT_EQ(r.finish(), 0);
  EXPECT_EQ(r.got.load(), 'r');
  ASSERT_EQ(join(spinner, nullptr), 0);
}

// The kernel's return values, and bad input that changes nothing.
TEST_P(net_test, kernel_return_values) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  char c;
  // Outside tasks: what may sleep is refused, what cannot sleep works.
  EXPECT_EQ(net::read(lfd, &c, 1), -EPERM);
  EXPECT_EQ(net::accept4(lfd, nullptr, nullptr, 0, 0), -EAGAIN);
  EXPECT_EQ(net::read(-1, &c, 1, 0), -EBADF);
  EXPECT_EQ(net::read(0, &c, 1, 0), -EBADF) << "not a cpustop socket";
  EXPECT_EQ(net::close(-3), -EBADF);
  EXPECT_EQ(net::accept4(lfd, nullptr, nullptr, 0x4000000), -EINVAL);
  EXPECT_EQ(run_task([&] {
              EXPECT_EQ(net::accept4(lfd, nullptr, nullptr, 0, 0), -EAGAIN);
              EXPECT_EQ(net::accept4(lfd, nullptr, nullptr, 0, 2'000'000), -ETIMEDOUT);
              EXPECT_EQ(net::read(lfd, nullptr, 1), -EFAULT);
              EXPECT_EQ(net::poll(nullptr, 1, 0), -EFAULT);
              // A port nobody listens on.
              int probe = 0;
              int tmp = listen_loopback(&probe);
              net::close(tmp);
              EXPECT_EQ(connect_loopback(probe), -ECONNREFUSED);
              // A nonblocking socket never waits.
              int nb = net::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
              sockaddr_in a = loopback(port);
              EXPECT_EQ(net::connect(nb, reinterpret_cast<sockaddr*>(&a), sizeof(a)), -EINPROGRESS);
              int sfd = net::accept4(lfd, nullptr, nullptr);
              EXPECT_GE(sfd, 0);
              pollfd pw = {nb, POLLOUT, 0};
              EXPECT_EQ(net::poll(&pw, 1), 1);
              EXPECT_EQ(net::read(nb, &c, 1), -EAGAIN);
              EXPECT_EQ(net::read(sfd, &c, 1, 0), -EAGAIN);
              EXPECT_EQ(net::read(sfd, &c, 1, 1'000'000), -ETIMEDOUT);
              // Reset by the peer: SO_LINGER 0 then close sends RST.
              linger lg = {1, 0};
              EXPECT_EQ(net::setsockopt(nb, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
              EXPECT_EQ(net::close(nb), 0);
              EXPECT_EQ(net::read(sfd, &c, 1), -ECONNRESET);
              EXPECT_EQ(net::write(sfd, "x", 1), -EPIPE);
              EXPECT_EQ(net::close(sfd), 0);
              EXPECT_EQ(net::close(sfd), -EBADF);
              return 0;
            }),
            0);
  EXPECT_EQ(net::close(lfd), 0);
}

// kill() ends an interruptible sleep on a socket with -EINTR until flush_signals().
TEST_P(net_test, kill_interrupts_a_socket_sleep) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  std::atomic<int> phase{0};
  pid_t t = spawn("killable", [&] {
    phase = 1;
    int r1 = net::accept4(lfd, nullptr, nullptr);
    int r2 = net::accept4(lfd, nullptr, nullptr);  // still pending: at once
    std::uint64_t sigs = flush_signals();
    int r3 = net::accept4(lfd, nullptr, nullptr, 0, 0);
    return r1 == -EINTR && r2 == -EINTR && sigs == (1u << (SIGTERM - 1)) && r3 == -EAGAIN ? 0 : 1;
  });
  task_info ti;
  while (!(phase.load() == 1 && task_get_info(t, &ti) == 0 && ti.state == 'S'))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  EXPECT_EQ(kill(t, 99), -EINVAL);
  EXPECT_EQ(kill(t, 0), 0);
  EXPECT_EQ(kill(t, SIGTERM), 0);
  int code = -1;
  ASSERT_EQ(join(t, &code), 0);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(kill(t, SIGTERM), -ESRCH);
  EXPECT_EQ(net::close(lfd), 0);
}

// poll() over several sockets wakes for the one that becomes ready; readv/writev/sendfile move
// the same bytes as read/write.
TEST_P(net_test, poll_and_vectored_io_and_sendfile) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  char path[] = "/tmp/cpustop-net-test-XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  std::string content(100000, 'f');
  for (std::size_t i = 0; i < content.size(); i++) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  EXPECT_EQ(
      run_task([&] {
        int c[3], s[3];
        for (int i = 0; i < 3; i++) {
          c[i] = connect_loopback(port);
          s[i] = net::accept4(lfd, nullptr, nullptr);
        }
        pid_t w = spawn("poll-writer", [&] {
          msleep(2);
          iovec iov[2] = {{const_cast<char*>("he"), 2}, {const_cast<char*>("llo"), 3}};
          return net::writev(c[1], iov, 2) == 5 ? 0 : 1;
        });
        pollfd p[4] = {{s[0], POLLIN, 0}, {s[1], POLLIN, 0}, {s[2], POLLIN, 0}, {-1, POLLIN, 0}};
        EXPECT_EQ(net::poll(p, 4, 0), 0);
        EXPECT_EQ(net::poll(p, 4), 1);
        EXPECT_EQ(p[1].revents & POLLIN, POLLIN);
        EXPECT_EQ(p[0].revents | p[2].revents | p[3].revents, 0);
        char a[2], b[8] = {};
        iovec rv[2] = {{a, 2}, {b, 8}};
        EXPECT_EQ(net::readv(s[1], rv, 2), 5);
        EXPECT_EQ(std::string(a, 2) + b, "hello");
        int code = -1;
        EXPECT_EQ(join(w, &code), 0);
        EXPECT_EQ(code, 0);
        pollfd bad = {12345, POLLIN, 0};
        EXPECT_EQ(net::poll(&bad, 1), 1);
        EXPECT_EQ(bad.revents, POLLNVAL);
        // sendfile of the whole file, read back on the other end by another task.
        std::string back;
        pid_t r = spawn("sf-reader", [&] {
          char buf[4096];
          while (back.size() < content.size()) {
            ssize_t n = net::read(s[2], buf, sizeof(buf));
            if (n <= 0) break;
            back.append(buf, static_cast<size_t>(n));
          }
        });
        off_t off = 0;
        EXPECT_EQ(net::sendfile(c[2], file, &off, content.size()),
                  static_cast<ssize_t>(content.size()));
        EXPECT_EQ(off, static_cast<off_t>(content.size()));
        EXPECT_EQ(join(r, nullptr), 0);
        EXPECT_TRUE(back == content);
        for (int i = 0; i < 3; i++) {
          net::close(c[i]);
          net::close(s[i]);
        }
        return 0;
      }),
      0);
  ::close(file);
  EXPECT_EQ(net::close(lfd), 0);
}

// A call that blocks without readiness runs on the offload pool: its task shows D, and a
// spinner on the same CPU keeps running meanwhile.
TEST_P(net_test, offload_keeps_the_cpu_running) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  std::atomic<bool> done{false};
  std::atomic<long> spins{0};
  std::atomic<bool> started{false};
  pid_t blocker = spawn(
      "blocker",
      [&] {
        char c = 0;
        ssize_t n = -1;
        started = true;
        int r = net::offload([&] { n = ::read(pipefd[0], &c, 1); });  // blocks in the OS
        done = true;
        return r == 0 && n == 1 && c == 'p' ? 0 : 1;
      },
      on_cpu(0));
  pid_t spinner = spawn(
      "spinner",
      [&] {
        while (!done.load()) {
          spins++;
          cond_resched();
        }
      },
      on_cpu(0));
  task_info ti;
  while (!(started.load() && task_get_info(blocker, &ti) == 0 && ti.state == 'D'))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  long before = spins.load();
  while (spins.load() == before) std::this_thread::sleep_for(std::chrono::microseconds(200));
  ASSERT_EQ(::write(pipefd[1], "p", 1), 1);
  int code = -1;
  ASSERT_EQ(join(blocker, &code), 0);
  EXPECT_EQ(code, 0);
  ASSERT_EQ(join(spinner, nullptr), 0);
  EXPECT_GE(net::get_net_stats().offloaded, 1u);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

// ---- preempt=full ------------------------------------------------------------------------------

class net_full : public test::machine {
  void customize(boot_params& p) override { p.preempt = preempt_model::full; }
};
CPUSTOP_INSTANTIATE(net_full);

// The whole path on a busy CPU: its tick collects the readiness of its set (NET_RX), the wakeup
// makes the RT reader preempt a plain loop that never calls into cpustop, and the loop only ends
// because the reader ran.
TEST_P(net_full, readiness_on_a_busy_cpu_preempts_a_plain_loop) {
  one_byte_reader r;
  std::atomic<unsigned long> spins{0};
  ASSERT_TRUE(r.start("rt-reader", on_cpu(0, SCHED_FIFO, 10)));
  while (!r.asleep()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  std::atomic<bool> stop{false};
  pid_t loop = spawn(
      "plainloop",
      [&] {
        while (!r.done.load(std::memory_order_relaxed) && !stop.load(std::memory_order_relaxed))
          spins.fetch_add(1, std::memory_order_relaxed);
      },
      on_cpu(0));
  while (spins.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(r.send('p'));
  // The sanitizers defer signals: allow them plenty of time rather than hang.
  for (int i = 0; i < 30000 && !r.done.load(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(r.done.load()) << "the reader never ran while the loop held its CPU";
  stop = true;
  EXPECT_EQ(r.finish(), 0);
  EXPECT_EQ(r.got.load(), 'p');
  ASSERT_EQ(join(loop, nullptr), 0);
  cpu_stat st;
  ASSERT_EQ(cpu_get_stat(0, &st), 0);
  EXPECT_GT(st.async_preempt, 0u);
}

}  // namespace
}  // namespace cpustop
