// The seccomp trap of the scheduler system calls inside `cpustop enter` (see sched_trap.h).
#include "sched_trap.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cpustop::tool {

namespace {

const int trapped[] = {
    SCMP_SYS(sched_setaffinity),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(sched_setscheduler),
    SCMP_SYS(sched_getscheduler),
    SCMP_SYS(sched_setparam),
    SCMP_SYS(sched_getparam),
    SCMP_SYS(sched_setattr),
    SCMP_SYS(sched_getattr),
    SCMP_SYS(getpriority),
    SCMP_SYS(setpriority),
    SCMP_SYS(kill),
};

constexpr std::size_t SCHED_ATTR_SIZE_VER0 = 48, SCHED_ATTR_SIZE_VER1 = 56;

// struct sched_attr as the kernel lays it out (VER1).
struct sched_attr_v1 {
  std::uint32_t size, sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime, sched_deadline, sched_period;
  std::uint32_t sched_util_min, sched_util_max;
};
static_assert(sizeof(sched_attr_v1) == SCHED_ATTR_SIZE_VER1);

bool read_mem(pid_t pid, std::uint64_t addr, void* dst, std::size_t len) {
  iovec local{dst, len}, remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

bool write_mem(pid_t pid, std::uint64_t addr, const void* src, std::size_t len) {
  iovec local{const_cast<void*>(src), len}, remote{reinterpret_cast<void*>(addr), len};
  return process_vm_writev(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

pid_t tgid_of(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
  return tid;
}

std::string mask_to_list(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::size_t bit = 0; bit < bytes.size() * 8;) {
    if (!(bytes[bit / 8] & (1u << (bit % 8)))) {
      bit++;
      continue;
    }
    std::size_t end = bit;
    while (end + 1 < bytes.size() * 8 && (bytes[(end + 1) / 8] & (1u << ((end + 1) % 8)))) end++;
    if (!out.empty()) out += ',';
    out += std::to_string(bit);
    if (end > bit) {
      out += '-';
      out += std::to_string(end);
    }
    bit = end + 1;
  }
  return out;
}

// A list such as "0-3,6" into bytes (bit n of byte n/8).
void list_to_mask(const std::string& list, std::vector<std::uint8_t>* bytes) {
  std::istringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    if (part.empty()) continue;
    std::size_t dash = part.find('-');
    unsigned lo = static_cast<unsigned>(std::stoul(part.substr(0, dash)));
    unsigned hi =
        dash == std::string::npos ? lo : static_cast<unsigned>(std::stoul(part.substr(dash + 1)));
    for (unsigned c = lo; c <= hi; c++)
      if (c / 8 < bytes->size()) (*bytes)[c / 8] |= static_cast<std::uint8_t>(1u << (c % 8));
  }
}

struct answer {
  bool pass = true;  // let the real kernel have it
  std::int64_t val = 0;
  int error = 0;  // positive errno
};

answer fail(int err) {
  answer a;
  a.pass = false;
  a.error = err;
  return a;
}
answer done(std::int64_t val) {
  answer a;
  a.pass = false;
  a.val = val;
  return a;
}

class supervisor {
 public:
  supervisor(int fd, attach_client* machine) : fd_(fd), machine_(machine) {}

  answer handle(const seccomp_notif& n) {
    const auto& a = n.data.args;
    int nr = n.data.nr;
    pid_t pid;
    if (nr == SCMP_SYS(getpriority) || nr == SCMP_SYS(setpriority)) {
      if (a[0] != PRIO_PROCESS) return {};
      pid = static_cast<pid_t>(a[1]);
    } else {
      pid = static_cast<pid_t>(a[0]);
    }
    // The caller itself (pid 0, its own pid or thread) and groups (kill(-pgrp)) are real.
    if (pid <= 0 || pid == static_cast<pid_t>(n.pid) || pid == tgid_of(static_cast<pid_t>(n.pid)))
      return {};
    std::string p = std::to_string(pid);
    pid_t caller = static_cast<pid_t>(n.pid);
    if (nr == SCMP_SYS(sched_getaffinity)) {
      std::string out;
      int err = ask({"sched_getaffinity", p}, &out);
      if (err < 0) return {};
      if (err) return fail(err);
      unsigned nr_cpu_ids = static_cast<unsigned>(std::stoul(out));
      std::size_t len = a[1];
      if (len * 8 < nr_cpu_ids || (len & (sizeof(long) - 1))) return fail(EINVAL);
      std::size_t ret = std::min(len, (nr_cpu_ids + 63) / 64 * sizeof(long));
      std::vector<std::uint8_t> bytes(ret);
      list_to_mask(out.substr(out.find(' ') + 1), &bytes);
      if (!valid(n) || !write_mem(caller, a[2], bytes.data(), ret)) return fail(EFAULT);
      return done(static_cast<std::int64_t>(ret));
    }
    if (nr == SCMP_SYS(sched_setaffinity)) {
      std::vector<std::uint8_t> bytes(std::min<std::uint64_t>(a[1], 1024));
      if (!read_mem(caller, a[2], bytes.data(), bytes.size())) return fail(EFAULT);
      return result(ask_set(caller, {"sched_setaffinity", p, mask_to_list(bytes)}));
    }
    if (nr == SCMP_SYS(sched_setscheduler) || nr == SCMP_SYS(sched_setparam)) {
      bool full = nr == SCMP_SYS(sched_setscheduler);
      int prio;
      if (!read_mem(caller, a[full ? 2 : 1], &prio, sizeof(prio))) return fail(EFAULT);
      if (full && static_cast<int>(a[1]) < 0) return fail(EINVAL);
      return full ? result(ask_set(caller,
                                   {"sched_setscheduler", p, std::to_string(static_cast<int>(a[1])),
                                    std::to_string(prio)}))
                  : result(ask_set(caller, {"sched_setparam", p, std::to_string(prio)}));
    }
    if (nr == SCMP_SYS(sched_getscheduler)) return value(ask_value({"sched_getscheduler", p}));
    if (nr == SCMP_SYS(sched_getparam)) {
      std::string out;
      int err = ask({"sched_getparam", p}, &out);
      if (err < 0) return {};
      if (err) return fail(err);
      int prio = std::atoi(out.c_str());
      if (!valid(n) || !write_mem(caller, a[1], &prio, sizeof(prio))) return fail(EFAULT);
      return done(0);
    }
    if (nr == SCMP_SYS(sched_getattr)) {
      std::size_t size = a[2];
      if (a[3] != 0 || size < SCHED_ATTR_SIZE_VER0 || size > 4096) return fail(EINVAL);
      std::string out;
      int err = ask({"sched_getattr", p}, &out);
      if (err < 0) return {};
      if (err) return fail(err);
      sched_attr_v1 attr{};
      int policy = 0, nice = 0, prio = 0;
      std::istringstream(out) >> policy >> nice >> prio;
      attr.size = static_cast<std::uint32_t>(std::min(size, SCHED_ATTR_SIZE_VER1));
      attr.sched_policy = static_cast<std::uint32_t>(policy);
      attr.sched_nice = nice;
      attr.sched_priority = static_cast<std::uint32_t>(prio);
      if (!valid(n) || !write_mem(caller, a[1], &attr, attr.size)) return fail(EFAULT);
      return done(0);
    }
    if (nr == SCMP_SYS(sched_setattr)) {
      sched_attr_v1 attr{};
      if (!read_mem(caller, a[1], &attr.size, sizeof(attr.size))) return fail(EFAULT);
      std::size_t size = attr.size ? attr.size : SCHED_ATTR_SIZE_VER0;
      if (a[2] != 0 || size < SCHED_ATTR_SIZE_VER0 || size > 4096)
        return fail(size > 4096 ? E2BIG : EINVAL);
      if (!read_mem(caller, a[1], &attr, std::min(size, SCHED_ATTR_SIZE_VER1))) return fail(EFAULT);
      return result(ask_set(
          caller,
          {"sched_setattr", p, std::to_string(attr.sched_policy), std::to_string(attr.sched_flags),
           std::to_string(attr.sched_nice), std::to_string(attr.sched_priority)}));
    }
    if (nr == SCMP_SYS(getpriority)) {
      answer r = value(ask_value({"getpriority", p}));
      if (!r.pass && !r.error) r.val = 20 - r.val;  // the raw call returns 20 - nice
      return r;
    }
    if (nr == SCMP_SYS(setpriority))
      return result(ask_set(caller, {"setpriority", p, std::to_string(static_cast<int>(a[2]))}));
    if (nr == SCMP_SYS(kill))
      return result(ask_set(caller, {"kill", p, std::to_string(static_cast<int>(a[1]))}));
    return {};
  }

 private:
  bool valid(const seccomp_notif& n) { return seccomp_notify_id_valid(fd_, n.id) == 0; }

  // The machine's answer: 0, a positive errno, or -1 for "not the machine's" (ESRCH: the real
  // kernel decides) and a lost connection.
  int ask(std::vector<std::string> args, std::string* out, const std::string& comm = "sys") {
    args.insert(args.begin(), {"sys", comm});
    attach_reply r;
    std::string why;
    if (machine_->call(args, &r, &why) != 0 || r.refused) return -1;
    if (r.status == ESRCH) return -1;
    *out = r.out;
    return r.status;
  }
  int ask_set(pid_t caller, const std::vector<std::string>& args) {
    std::string out, comm = process_comm(caller);
    return ask(args, &out, comm.empty() ? "sys" : comm);
  }
  std::pair<int, std::int64_t> ask_value(const std::vector<std::string>& args) {
    std::string out;
    int err = ask(args, &out);
    return {err, err == 0 ? std::atoll(out.c_str()) : 0};
  }
  static answer result(int err) { return err < 0 ? answer{} : err ? fail(err) : done(0); }
  static answer value(std::pair<int, std::int64_t> r) {
    return r.first < 0 ? answer{} : r.first ? fail(r.first) : done(r.second);
  }

  int fd_;
  attach_client* machine_;
};

}  // namespace

int sched_trap_install() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  int err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (int nr : trapped)
    if (!err) err = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
  if (!err) err = seccomp_load(ctx);
  int fd = err ? err : seccomp_notify_fd(ctx);
  seccomp_release(ctx);
  return fd;
}

int sched_trap_supervise(int notify_fd, pid_t child, attach_client* machine) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  supervisor sup(notify_fd, machine);
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  seccomp_notify_alloc(&req, &resp);
  int status = 0;
  for (;;) {
    pollfd fds[2] = {{notify_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (poll(fds, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100) < 0 && errno != EINTR) break;
    if (pidfd < 0 || (fds[1].revents & POLLIN)) {
      if (waitpid(child, &status, pidfd < 0 ? WNOHANG : 0) == child) break;
    }
    if (!(fds[0].revents & POLLIN)) continue;
    // seccomp_notify_receive wants a zeroed buffer.
    std::memset(req, 0, sizeof(*req));
    if (seccomp_notify_receive(notify_fd, req) != 0) continue;  // the caller died meanwhile
    answer a = sup.handle(*req);
    std::memset(resp, 0, sizeof(*resp));
    resp->id = req->id;
    if (a.pass) {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      resp->val = a.error ? 0 : a.val;
      resp->error = a.error ? -a.error : 0;
    }
    seccomp_notify_respond(notify_fd, resp);
  }
  seccomp_notify_free(req, resp);
  if (pidfd >= 0) close(pidfd);
  return status;
}

}  // namespace cpustop::tool
