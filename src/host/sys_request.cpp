// The machine's answers to the system calls that enter traps (see sys_request.h).
#include "host/sys_request.h"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>

#include "cpustop/cpustop.h"
#include "cpustop/shell.h"
#include "host/shell_util.h"

namespace cpustop::host {

namespace {

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
constexpr std::uint64_t SCHED_FLAG_RESET_ON_FORK = 0x01, SCHED_FLAG_KEEP_POLICY = 0x08,
                        SCHED_FLAG_KEEP_PARAMS = 0x10;

reply result(int err, std::string out = {}) {
  reply r;
  r.status = err < 0 ? -err : err;
  if (!err) r.out = std::move(out);
  return r;
}

bool num(const std::string& s, long* v) {
  return parse_int(s, v);
}

bool task_exists(pid_t pid) {
  task_info t;
  return task_get_info(pid, &t) == 0;
}

// A setter runs as a task named after the caller's command.
int as_task(const std::string& comm, const std::function<int()>& fn) {
  int status = 0;
  if (int err = run_as_task(comm, fn, &status)) return err;
  return status;
}

int setattr(pid_t pid, long policy, long flags, long nice, long prio) {
  int cur = sched_getscheduler(pid);
  if (cur < 0) return cur;
  if (flags & ~(SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_KEEP_POLICY | SCHED_FLAG_KEEP_PARAMS))
    return -EINVAL;  // no deadline class, no utilization clamping
  if (flags & SCHED_FLAG_KEEP_POLICY) policy = cur;
  if (flags & SCHED_FLAG_KEEP_PARAMS) {
    sched_param sp{};
    sched_getparam(pid, &sp);
    prio = sp.sched_priority;
  }
  if (int err = sched_setscheduler(pid, static_cast<int>(policy), {static_cast<int>(prio)}))
    return err;
  bool fair = policy == SCHED_NORMAL || policy == SCHED_BATCH || policy == SCHED_IDLE;
  return fair ? set_user_nice(pid, static_cast<int>(nice)) : 0;
}

int kill_task(pid_t pid, long sig, shell_context* ctx) {
  task_info t;
  if (task_get_info(pid, &t)) return -ESRCH;
  if (sig < 0 || sig > 64) return -EINVAL;
  if (sig == 0 || sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH) return 0;
  if (t.kthread) return 0;  // kernel threads ignore signals
  if (ctx && ctx->stop(pid)) return 0;
  return -EPERM;  // a task of the program itself: it has no signal handling
}

}  // namespace

reply sys_request(const std::vector<std::string>& a, shell_context* ctx) {
  // sys COMM CALL PID [ARGS...]
  long pid_l, x = 0, y = 0, z = 0, w = 0;
  if (a.size() < 4 || !num(a[3], &pid_l) || pid_l <= 0 || pid_l > 4 * 1024 * 1024)
    return result(-EINVAL);
  pid_t pid = static_cast<pid_t>(pid_l);
  const std::string& comm = a[1];
  const std::string& call = a[2];
  auto args = [&](std::size_t n, long* v0 = nullptr, long* v1 = nullptr, long* v2 = nullptr,
                  long* v3 = nullptr) {
    long* v[] = {v0, v1, v2, v3};
    if (a.size() != 4 + n) return false;
    for (std::size_t i = 0; i < n; i++)
      if (!num(a[4 + i], v[i])) return false;
    return true;
  };
  if (!task_exists(pid)) return result(-ESRCH);

  if (call == "sched_getaffinity" && args(0)) {
    cpumask m;
    if (int err = sched_getaffinity(pid, &m)) return result(err);
    return result(0, fmt::format("{} {}", nr_cpu_ids(), cpumask_to_cpulist(m)));
  }
  if (call == "sched_setaffinity" && a.size() == 5) {
    cpumask m;
    if (!a[4].empty() && cpulist_parse(a[4], NR_CPUS, &m)) return result(-EINVAL);
    m = m & cpumask::first_n(nr_cpu_ids());  // the kernel ANDs the mask with the possible CPUs
    if (m.empty()) return result(-EINVAL);
    return result(as_task(comm, [&] { return sched_setaffinity(pid, m); }));
  }
  if (call == "sched_getscheduler" && args(0)) {
    int policy = sched_getscheduler(pid);
    return policy < 0 ? result(policy) : result(0, std::to_string(policy));
  }
  if (call == "sched_getparam" && args(0)) {
    sched_param sp{};
    if (int err = sched_getparam(pid, &sp)) return result(err);
    return result(0, std::to_string(sp.sched_priority));
  }
  if (call == "sched_setscheduler" && args(2, &x, &y)) {
    x &= ~SCHED_RESET_ON_FORK;  // accepted: every task here is created by spawn(), not fork
    return result(as_task(
        comm, [&] { return sched_setscheduler(pid, static_cast<int>(x), {static_cast<int>(y)}); }));
  }
  if (call == "sched_setparam" && args(1, &y)) {
    return result(as_task(comm, [&] {
      int policy = sched_getscheduler(pid);
      return policy < 0 ? policy : sched_setscheduler(pid, policy, {static_cast<int>(y)});
    }));
  }
  if (call == "sched_getattr" && args(0)) {
    int policy = sched_getscheduler(pid), nice = 0;
    sched_param sp{};
    if (policy < 0) return result(policy);
    if (int err = sched_getparam(pid, &sp) ? -ESRCH : task_nice(pid, &nice)) return result(err);
    return result(0, fmt::format("{} {} {}", policy, nice, sp.sched_priority));
  }
  if (call == "sched_setattr" && args(4, &x, &y, &z, &w))
    return result(as_task(comm, [&] { return setattr(pid, x, y, z, w); }));
  if (call == "getpriority" && args(0)) {
    int nice = 0;
    if (int err = task_nice(pid, &nice)) return result(err);
    return result(0, std::to_string(nice));
  }
  if (call == "setpriority" && args(1, &x))
    return result(as_task(comm, [&] { return set_user_nice(pid, static_cast<int>(x)); }));
  if (call == "kill" && args(1, &x)) return result(kill_task(pid, x, ctx));
  return result(-EINVAL);
}

}  // namespace cpustop::host
