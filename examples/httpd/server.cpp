// cpustop-httpd: acceptors, connections, routes and the live operations.
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

#include "cpustop/cpustop.h"
#include "http.h"

namespace httpd {

using namespace cpustop;

namespace {

constexpr std::int64_t NS_PER_MS = 1000000;
constexpr std::size_t MAX_BYTES = 64u << 20;

// ---- The response table ---------------------------------------------------------------------

// Rewritten in place, byte by byte, inside stop_machine; readers copy it with preemption off.
// No CPU is inside such a region while a stop function runs, so no response mixes two tables.
struct response_table {
  char body[32];
  std::size_t len;
};
constexpr std::string_view BODY_A = "hello";
constexpr std::string_view BODY_B = "hello, world";
response_table table = {{'h', 'e', 'l', 'l', 'o'}, 5};

int swap_table(void*) {
  std::string_view next = table.len == BODY_A.size() ? BODY_B : BODY_A;
  std::memcpy(table.body, next.data(), next.size());
  table.len = next.size();
  return 0;
}

// ---- Dates ------------------------------------------------------------------------------------

// One per CPU thread (thread_local belongs to the logical CPU), used with preemption off.
struct date_cache {
  std::time_t sec = 0;
  char text[32] = {};
};
thread_local date_cache dates;

const char* http_date() {
  std::time_t now = std::time(nullptr);
  if (now != dates.sec) {
    std::tm tm;
    gmtime_r(&now, &tm);
    std::strftime(dates.text, sizeof(dates.text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    dates.sec = now;
  }
  return dates.text;
}

// ---- Counters ---------------------------------------------------------------------------------

enum counter { C_REQUESTS, C_2XX, C_4XX, C_5XX, C_ACCEPTED, C_OPEN, C_TIMEOUTS, C_RESETS, NR_C };

struct alignas(64) cpu_counters {
  std::atomic<std::int64_t> v[NR_C] = {};
};
constexpr unsigned MAX_COUNTER_CPUS = 256;
cpu_counters counters[MAX_COUNTER_CPUS];

void count(counter c, std::int64_t n = 1) {
  int cpu = smp_processor_id();
  counters[static_cast<unsigned>(cpu < 0 ? 0 : cpu) % MAX_COUNTER_CPUS].v[c].fetch_add(
      n, std::memory_order_relaxed);
}

std::int64_t counter_sum(counter c) {
  std::int64_t n = 0;
  for (const auto& cc : counters) n += cc.v[c].load(std::memory_order_relaxed);
  return n;
}

// ---- Responses --------------------------------------------------------------------------------

struct reply {
  char* buf;
  std::size_t cap, len = 0;
  int status = 200;
  std::size_t bulk = 0;  // pattern bytes to send after buf
  bool close = false;
  bool stats = false;  // the /stats route: the text comes after
};

void append(reply& r, std::string_view s) {
  std::size_t n = std::min(s.size(), r.cap - r.len);
  if (n == 0) return;
  std::memcpy(r.buf + r.len, s.data(), n);
  r.len += n;
}

void append_num(reply& r, std::uint64_t v) {
  char tmp[24];
  auto res = std::to_chars(tmp, tmp + sizeof(tmp), v);
  append(r, std::string_view(tmp, static_cast<std::size_t>(res.ptr - tmp)));
}

// Status line and the headers Go's net/http sends for the same answer.
void head(reply& r, const request* req, int status, std::size_t length, std::string_view type,
          std::string_view extra = {}) {
  r.status = status;
  append(r, "HTTP/1.1 ");
  append_num(r, static_cast<std::uint64_t>(status));
  append(r, " ");
  append(r, reason_phrase(status));
  append(r, "\r\nDate: ");
  append(r, http_date());
  append(r, "\r\nContent-Length: ");
  append_num(r, length);
  append(r, "\r\nContent-Type: ");
  append(r, type);
  append(r, "\r\n");
  append(r, extra);
  if (r.close)
    append(r, "Connection: close\r\n");
  else if (req && req->minor == 0)
    append(r, "Connection: keep-alive\r\n");
  append(r, "\r\n");
}

constexpr std::string_view TEXT = "text/plain; charset=utf-8";

void error_reply(reply& r, const request* req, int status) {
  r.close = true;
  std::string_view msg = reason_phrase(status);
  head(r, req, status, msg.size() + 1, TEXT);
  append(r, msg);
  append(r, "\n");
}

std::string_view query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    if (kv.size() > key.size() && kv.substr(0, key.size()) == key && kv[key.size()] == '=')
      return kv.substr(key.size() + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// The request handler, patchable: version 2 marks its answers with "X-Patched: 1". Runs with
// preemption off (it reads the response table and this CPU's date).
template <int V>
void handle_impl(const request* req, reply* rp) {
  reply& r = *rp;
  r.close = !req->keep_alive;
  std::string_view extra = V == 2 ? "X-Patched: 1\r\n" : "";
  bool head_only = req->method == "HEAD";
  if (req->method != "GET" && !head_only) {
    error_reply(r, req, 405);
    return;
  }
  if (req->path == "/") {
    head(r, req, 200, table.len, TEXT, extra);
    if (!head_only) append(r, std::string_view(table.body, table.len));
  } else if (req->path == "/hello") {
    std::string_view name = query_param(req->query, "name");
    if (name.empty()) name = "world";
    if (name.size() > 64) name = name.substr(0, 64);
    char body[160];
    int n = std::snprintf(body, sizeof(body), "hello, %.*s from cpu %d (pid %d)\n",
                          static_cast<int>(name.size()), name.data(), smp_processor_id(),
                          cpustop::getpid());
    head(r, req, 200, static_cast<std::size_t>(n), TEXT, extra);
    if (!head_only) append(r, std::string_view(body, static_cast<std::size_t>(n)));
  } else if (req->path == "/bytes") {
    std::string_view v = query_param(req->query, "n");
    std::size_t n = 0;
    auto res = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || res.ptr != v.data() + v.size() || n > MAX_BYTES) {
      error_reply(r, req, 400);
      return;
    }
    head(r, req, 200, n, "application/octet-stream", extra);
    if (!head_only) r.bulk = n;
  } else if (req->path == "/stats") {
    r.stats = true;  // composed by the connection, outside this region
    r.status = 200;
  } else {
    std::string_view msg = "404 page not found\n";  // Go's words
    head(r, req, 404, msg.size(), TEXT, extra);
    if (!head_only) append(r, msg);
  }
}
void handle_v1(const request* req, reply* r) {
  handle_impl<1>(req, r);
}
void handle_v2(const request* req, reply* r) {
  handle_impl<2>(req, r);
}
klp_func<void(const request*, reply*)> handle_request{"handle_request", handle_v1};

char pattern[65536];

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- Live operations --------------------------------------------------------------------------

struct op_log {
  const char* name;
  cpustop::mutex lock;
  std::vector<double> us;
  std::uint64_t failed = 0;
  void add(std::int64_t t0, bool ok) {
    double v = static_cast<double>(now_ns() - t0) / 1000.0;
    std::lock_guard<cpustop::mutex> g(lock);
    if (!ok) failed++;
    if (us.size() < 100000) us.push_back(v);
  }
  op_stats get() {
    std::lock_guard<cpustop::mutex> g(lock);
    op_stats s;
    s.name = name;
    s.count = us.size();
    s.failed = failed;
    if (!us.empty()) {
      std::vector<double> v = us;
      std::sort(v.begin(), v.end());
      s.median_us = v[v.size() / 2];
      s.p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)];
      s.max_us = v.back();
    }
    return s;
  }
};

}  // namespace

enum op_kind { OP_STOP_MACHINE, OP_AFFINITY, OP_CPU_DOWN, OP_CPU_UP, OP_LIVEPATCH, NR_OPS };

struct server::state {
  options opts;
  int port = 0;
  std::vector<int> listeners;
  std::vector<pid_t> acceptors;  // one per CPU
  std::vector<pid_t> op_tasks;
  int hotplug_state = -1;
  std::atomic<bool> stopping{false};
  // Live connection tasks: for the affinity mover and for stop().
  cpustop::mutex conn_lock;
  std::unordered_set<pid_t> conns;
  std::atomic<long> nr_conns{0};
  wait_queue_head conns_gone;  // woken when a connection task ends
  op_log ops[NR_OPS] = {
      {"stop_machine"}, {"sched_setaffinity"}, {"cpu_down"}, {"cpu_up"}, {"livepatch"}};
  klp_patch patch{{klp_func_change(handle_request, handle_v2)}};
};

namespace {

server::state* current;  // for the hotplug callback

// stop() runs on the thread that booted the machine, outside cpustop.
void msleep_from_outside(unsigned ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
std::string server_stats_text(server::state* s);

bool send_reply(int fd, const reply& r, std::int64_t timeout_ns) {
  if (net::write(fd, r.buf, r.len, timeout_ns) != static_cast<ssize_t>(r.len)) return false;
  for (std::size_t left = r.bulk; left > 0;) {
    std::size_t n = std::min(left, sizeof(pattern));
    if (net::write(fd, pattern, n, timeout_ns) != static_cast<ssize_t>(n)) return false;
    left -= n;
  }
  return true;
}

void count_status(int status) {
  count(status < 300 ? C_2XX : status < 500 ? C_4XX : C_5XX);
}

void send_error(int fd, int status, std::int64_t timeout_ns) {
  char out[256];
  reply r{out, sizeof(out)};
  preempt_disable();
  error_reply(r, nullptr, status);
  preempt_enable();
  count_status(status);
  net::write(fd, r.buf, r.len, timeout_ns);
}

int status_of(parse_status st) {
  switch (st) {
    case parse_status::head_too_large:
      return 431;
    case parse_status::body_too_large:
      return 413;
    case parse_status::not_impl:
      return 501;
    case parse_status::bad_version:
      return 505;
    default:
      return 400;
  }
}

// Waits for a whole request head in in[0..*have). Returns the parse result, or nullopt when the
// connection is to close without an answer (end of stream, reset, idle timeout, stop).
std::optional<parse_status> read_head(server::state* s, int fd, char* in, std::size_t cap,
                                      std::size_t* have, request* req) {
  const std::int64_t idle_ns = s->opts.idle_timeout_ms * NS_PER_MS;
  const std::int64_t header_ns = s->opts.header_timeout_ms * NS_PER_MS;
  std::int64_t first_byte = *have ? now_ns() : 0;
  parse_status st;
  while ((st = parse_request(in, *have, req)) == parse_status::incomplete) {
    if (*have == cap) return parse_status::head_too_large;
    std::int64_t left = idle_ns;
    if (*have) left = std::max<std::int64_t>(1, header_ns - (now_ns() - first_byte));
    ssize_t n = net::read(fd, in + *have, cap - *have, left);
    if (n == -ETIMEDOUT) {
      count(C_TIMEOUTS);
      if (*have) send_error(fd, 408, idle_ns);  // a head that never completed: slowloris
      return std::nullopt;
    }
    if (n == -ECONNRESET) count(C_RESETS);
    if (n <= 0) return std::nullopt;
    if (*have == 0) first_byte = now_ns();
    *have += static_cast<std::size_t>(n);
  }
  return st;
}

// One connection: read a request, answer it, again while the client keeps it alive.
void serve_connection(server::state* s, int fd) {
  char in[MAX_HEAD + 1024];
  char out[1024];
  std::size_t have = 0;
  const std::int64_t idle_ns = s->opts.idle_timeout_ms * NS_PER_MS;
  for (;;) {
    request req;
    std::optional<parse_status> st = read_head(s, fd, in, sizeof(in), &have, &req);
    if (!st) return;
    count(C_REQUESTS);
    if (*st != parse_status::complete) {
      send_error(fd, status_of(*st), idle_ns);
      return;
    }
    // A body is read and dropped.
    std::size_t total = req.head_len + req.content_length;
    for (std::size_t left = total > have ? total - have : 0; left > 0;) {
      ssize_t n = net::read(fd, out, std::min(left, sizeof(out)), idle_ns);
      if (n <= 0) return;
      left -= static_cast<std::size_t>(n);
    }
    std::size_t used = std::min(have, total);
    reply r{out, sizeof(out)};
    preempt_disable();
    handle_request(&req, &r);
    preempt_enable();
    std::string text;
    if (r.stats) {
      text = current ? server_stats_text(s) : std::string();
      preempt_disable();
      head(r, &req, 200, text.size(), TEXT);
      preempt_enable();
    }
    count_status(r.status);
    bool ok = send_reply(fd, r, idle_ns) &&
              (text.empty() || net::write(fd, text.data(), text.size(), idle_ns) ==
                                   static_cast<ssize_t>(text.size()));
    if (!ok) {
      count(C_RESETS);
      return;
    }
    if (r.close) return;
    // Pipelined requests stay in the buffer.
    std::memmove(in, in + used, have - used);
    have -= used;
  }
}

}  // namespace

namespace {

void connection_task(server::state* s, int fd) {
  pid_t self = cpustop::getpid();
  {
    std::lock_guard<cpustop::mutex> g(s->conn_lock);
    s->conns.insert(self);
  }
  serve_connection(s, fd);
  net::close(fd);
  count(C_OPEN, -1);
  {
    std::lock_guard<cpustop::mutex> g(s->conn_lock);
    s->conns.erase(self);
  }
  s->nr_conns.fetch_sub(1);
  wake_up_all(&s->conns_gone);
}

int acceptor(server::state* s, int lfd) {
  while (!s->stopping.load()) {
    int cfd = net::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) {
      if (cfd == -EINTR || s->stopping.load()) break;
      if (cfd == -EMFILE || cfd == -ENFILE || cfd == -ENOMEM) msleep(10);  // let some close
      continue;
    }
    int one = 1;
    net::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    count(C_ACCEPTED);
    count(C_OPEN);
    s->nr_conns.fetch_add(1);
    task_attr a;
    a.detached = true;
    a.stack_size = s->opts.conn_stack;
    // Created on this CPU (the listener's), free to move like any task.
    pid_t pid = spawn(
        "httpd-conn", [s, cfd] { connection_task(s, cfd); }, a);
    if (pid < 0) {
      net::close(cfd);
      count(C_OPEN, -1);
      s->nr_conns.fetch_sub(1);
    }
  }
  return 0;
}

// ---- The live operations ----------------------------------------------------------------------

// Sleeps up to ms, in steps, until the server stops. False when stopping.
bool nap(server::state* s, unsigned ms) {
  for (unsigned left = ms; left > 0 && !s->stopping.load();) {
    unsigned step = std::min(left, 20u);
    msleep(step);
    left -= step;
  }
  return !s->stopping.load();
}

void op_stop_machine(server::state* s) {
  while (nap(s, 10)) {
    std::int64_t t0 = now_ns();
    int err = stop_machine(swap_table, nullptr, nullptr);
    s->ops[OP_STOP_MACHINE].add(t0, err == 0);
  }
}

void op_affinity(server::state* s) {
  std::mt19937 rng(12345);
  pid_t last = 0;
  while (nap(s, 50)) {
    pid_t victim = 0;
    {
      std::lock_guard<cpustop::mutex> g(s->conn_lock);
      if (!s->conns.empty()) {
        auto it = s->conns.begin();
        std::advance(it, static_cast<long>(rng() % s->conns.size()));
        victim = *it;
      }
    }
    // The previous one may go anywhere again; this one moves to another online CPU.
    if (last) sched_setaffinity(last, cpu_online_mask_snapshot());
    last = 0;
    task_info ti;
    if (!victim || task_get_info(victim, &ti) != 0) continue;
    // The hotplug task must not take the chosen CPU away in between (-EINVAL).
    cpus_read_lock();
    cpumask online = cpu_online_mask_snapshot();
    online.clear(static_cast<unsigned>(ti.cpu));
    if (!online.empty()) {
      std::int64_t t0 = now_ns();
      int err = sched_setaffinity(victim, cpumask::of(online.first()));
      s->ops[OP_AFFINITY].add(t0, err == 0 || err == -ESRCH);  // ESRCH: the connection ended
      if (err == 0) last = victim;
    }
    cpus_read_unlock();
  }
  if (last) sched_setaffinity(last, cpu_online_mask_snapshot());
}

void op_hotplug(server::state* s) {
  unsigned worker = nr_cpu_ids() - 1;
  while (nap(s, 900)) {
    std::int64_t t0 = now_ns();
    int err = cpu_down(worker);
    s->ops[OP_CPU_DOWN].add(t0, err == 0);
    if (err) continue;
    nap(s, 100);
    t0 = now_ns();
    err = cpu_up(worker);
    s->ops[OP_CPU_UP].add(t0, err == 0);
  }
  if (!cpu_online(static_cast<int>(worker))) cpu_up(worker);
}

void op_livepatch(server::state* s) {
  if (!nap(s, 500)) return;
  while (nap(s, 500)) {
    std::int64_t t0 = now_ns();
    int err = s->patch.enabled ? klp_disable_patch(&s->patch) : klp_enable_patch(&s->patch);
    s->ops[OP_LIVEPATCH].add(t0, err == 0);
  }
  if (s->patch.enabled) klp_disable_patch(&s->patch);
}

std::string server_stats_text(server::state* s) {
  char line[256];
  std::string out;
  auto add = [&](const char* name, std::int64_t v) {
    std::snprintf(line, sizeof(line), "%s %lld\n", name, static_cast<long long>(v));
    out += line;
  };
  add("requests", counter_sum(C_REQUESTS));
  add("responses_2xx", counter_sum(C_2XX));
  add("responses_4xx", counter_sum(C_4XX));
  add("responses_5xx", counter_sum(C_5XX));
  add("accepted", counter_sum(C_ACCEPTED));
  add("open", counter_sum(C_OPEN));
  add("timeouts", counter_sum(C_TIMEOUTS));
  add("resets", counter_sum(C_RESETS));
  add("cpus_online", num_online_cpus());
  net::net_stats ns = net::get_net_stats();
  add("net_sockets", static_cast<std::int64_t>(ns.sockets));
  add("net_events", static_cast<std::int64_t>(ns.events));
  add("net_waits", static_cast<std::int64_t>(ns.waits));
  add("net_reads_skipped", static_cast<std::int64_t>(ns.reads_skipped));
  add("net_rehomes", static_cast<std::int64_t>(ns.rehomes));
  for (auto& op : s->ops) {
    op_stats o = op.get();
    std::snprintf(line, sizeof(line),
                  "op %s count=%llu failed=%llu median_us=%.1f p99_us=%.1f max_us=%.1f\n",
                  o.name.c_str(), static_cast<unsigned long long>(o.count),
                  static_cast<unsigned long long>(o.failed), o.median_us, o.p99_us, o.max_us);
    out += line;
  }
  return out;
}

int listen_on(const options& o, int* port) {
  int fd = net::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
  if (fd < 0) return fd;
  int one = 1;
  net::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  net::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(*port));
  int err = inet_pton(AF_INET, o.bind.c_str(), &a.sin_addr) == 1 ? 0 : -EINVAL;
  if (!err) err = net::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (!err) err = net::listen(fd, 4096);
  socklen_t len = sizeof(a);
  if (!err) err = net::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (err) {
    net::close(fd);
    return err;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

server::server() : s_(std::make_unique<state>()) {
  init_waitqueue_head(&s_->conns_gone);
  mutex_init(&s_->conn_lock);
  for (auto& op : s_->ops) mutex_init(&op.lock);
  for (std::size_t i = 0; i < sizeof(pattern); i++) pattern[i] = static_cast<char>('a' + i % 26);
}

server::~server() {
  if (!s_->listeners.empty()) stop();
}

int server::start(const options& opts) {
  state* s = s_.get();
  if (!s->listeners.empty()) return -EBUSY;
  s->opts = opts;
  s->stopping = false;
  for (auto& cc : counters)
    for (auto& v : cc.v) v.store(0, std::memory_order_relaxed);
  if (table.len != BODY_A.size()) swap_table(nullptr);  // a previous server's live operations
  int port = opts.port;
  unsigned n = nr_cpu_ids();
  // One listener per CPU on the same port (SO_REUSEPORT): the first fixes an ephemeral port.
  for (unsigned cpu = 0; cpu < n; cpu++) {
    int fd = listen_on(opts, &port);
    if (fd < 0) {
      for (int l : s->listeners) net::close(l);
      s->listeners.clear();
      return fd;
    }
    s->listeners.push_back(fd);
  }
  s->port = port;
  current = s;
  for (unsigned cpu = 0; cpu < n; cpu++) {
    task_attr a;
    a.cpus = cpumask::of(cpu);
    int lfd = s->listeners[cpu];
    s->acceptors.push_back(spawn(
        "httpd-accept", [s, lfd] { return acceptor(s, lfd); }, a));
  }
  // An acceptor that lost its CPU to cpu_down ("no longer affine") goes back when it returns.
  s->hotplug_state = cpuhp_setup_state(
      CPUHP_AP_ONLINE_DYN, "httpd:online",
      [](unsigned cpu) {
        if (current && cpu < current->acceptors.size())
          sched_setaffinity(current->acceptors[cpu], cpumask::of(cpu));
        return 0;
      },
      nullptr);
  if (opts.live_ops) {
    s->op_tasks.push_back(spawn("httpd-stopmach", [s] { op_stop_machine(s); }));
    s->op_tasks.push_back(spawn("httpd-mover", [s] { op_affinity(s); }));
    if (n >= 2) s->op_tasks.push_back(spawn("httpd-hotplug", [s] { op_hotplug(s); }));
    s->op_tasks.push_back(spawn("httpd-patcher", [s] { op_livepatch(s); }));
  }
  return 0;
}

void server::stop() {
  state* s = s_.get();
  if (s->listeners.empty()) return;
  s->stopping = true;
  for (pid_t pid : s->op_tasks) join(pid, nullptr);
  s->op_tasks.clear();
  if (s->hotplug_state >= 0) cpuhp_remove_state(s->hotplug_state);
  s->hotplug_state = -1;
  for (pid_t pid : s->acceptors) {
    cpustop::kill(pid, SIGTERM);
    join(pid, nullptr);
  }
  s->acceptors.clear();
  for (int l : s->listeners) net::close(l);
  s->listeners.clear();
  // Every connection task ends at its next (or current) wait.
  while (s->nr_conns.load() > 0) {
    std::vector<pid_t> pids;
    {
      std::lock_guard<cpustop::mutex> g(s->conn_lock);
      pids.assign(s->conns.begin(), s->conns.end());
    }
    for (pid_t pid : pids) cpustop::kill(pid, SIGTERM);
    wait_event_timeout(
        s->conns_gone, [s] { return s->nr_conns.load() == 0; }, 10 * NS_PER_MS);
  }
  // A connection task counts itself out a moment before it is gone (detached: nobody joins).
  auto any_left = [] {
    for (const task_info& t : task_list())
      if (t.comm == "httpd-conn") return true;
    return false;
  };
  while (any_left()) msleep_from_outside(1);
  current = nullptr;
}

int server::port() const {
  return s_->port;
}

server_stats server::stats() const {
  server_stats st;
  st.requests = static_cast<std::uint64_t>(counter_sum(C_REQUESTS));
  st.responses_2xx = static_cast<std::uint64_t>(counter_sum(C_2XX));
  st.responses_4xx = static_cast<std::uint64_t>(counter_sum(C_4XX));
  st.responses_5xx = static_cast<std::uint64_t>(counter_sum(C_5XX));
  st.accepted = static_cast<std::uint64_t>(counter_sum(C_ACCEPTED));
  st.open = static_cast<std::uint64_t>(counter_sum(C_OPEN));
  st.timeouts = static_cast<std::uint64_t>(counter_sum(C_TIMEOUTS));
  st.resets = static_cast<std::uint64_t>(counter_sum(C_RESETS));
  for (auto& op : s_->ops) st.ops.push_back(op.get());
  return st;
}

std::string server::stats_text() const {
  return server_stats_text(s_.get());
}

std::vector<std::string> response_bodies() {
  return {std::string(BODY_A), std::string(BODY_B)};
}

}  // namespace httpd
