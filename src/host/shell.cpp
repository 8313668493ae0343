// The machine's shell (see shell.h): the dispatch, and the commands that steer tasks and CPUs.
#include "cpustop/shell.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "cpustop/cpustop.h"
#include "host/shell_util.h"
#include "host/trace_cmd.h"

namespace cpustop {

using namespace host;

namespace {

const char* policy_name(int policy) {
  switch (policy) {
    case SCHED_FIFO:
      return "SCHED_FIFO";
    case SCHED_RR:
      return "SCHED_RR";
    case SCHED_BATCH:
      return "SCHED_BATCH";
    case SCHED_IDLE:
      return "SCHED_IDLE";
  }
  return "SCHED_OTHER";
}

// A CPU list as util-linux prints it: a run of two is "1,2", not the kernel's "1-2".
std::string util_linux_cpulist(const cpumask& m) {
  std::string s;
  for (unsigned c = 0; c < NR_CPUS; c++) {
    if (!m.test(c)) continue;
    unsigned last = c;
    while (last + 1 < NR_CPUS && m.test(last + 1)) last++;
    if (!s.empty()) s += ',';
    s += std::to_string(c);
    if (last > c) {
      s += last == c + 1 ? ',' : '-';
      s += std::to_string(last);
    }
    c = last;
  }
  return s;
}

// The pid-mode command lines of util-linux's taskset and chrt, read as getopt reads them: short
// options alone or together (-pc, -fp), long ones by name, then [VALUE] PID.
struct pid_options {
  const char* tool;
  const char* shorts;                               // the options besides p
  std::vector<std::pair<std::string, char>> longs;  // and their long names, besides --pid
};
struct pid_command {
  pid_t pid = 0;
  std::optional<std::string> value;  // the mask, list or priority before the PID
};

// Calls option for each option but p, in order. 0, or the tool's exit status after its message.
int parse_pid_command(const pid_options& o, const std::vector<std::string>& a,
                      const std::function<void(char)>& option, pid_command* out,
                      std::ostream& err) {
  auto usage = [&](const std::string& what) {
    err << o.tool << ": " << what << "\nTry '" << o.tool << " --help' for more information.\n";
    return 1;
  };
  bool pid_mode = false, options = true;
  std::vector<std::string> rest;
  for (std::size_t i = 1; i < a.size(); i++) {
    const std::string& s = a[i];
    if (options && s == "--") {
      options = false;
    } else if (!options || s.size() < 2 || s[0] != '-') {
      rest.push_back(s);  // as getopt with "+": the first word that is not an option ends them
      options = false;
    } else if (s[1] == '-') {
      if (s == "--pid") {
        pid_mode = true;
        continue;
      }
      auto it =
          std::find_if(o.longs.begin(), o.longs.end(), [&](const auto& l) { return l.first == s; });
      if (it == o.longs.end()) return usage("unrecognized option '" + s + "'");
      option(it->second);
    } else {
      for (char c : s.substr(1)) {
        if (c == 'p')
          pid_mode = true;
        else if (std::strchr(o.shorts, c))
          option(c);
        else
          return usage(std::string("invalid option -- '") + c + "'");
      }
    }
  }
  if (!pid_mode || rest.empty() || rest.size() > 2) return usage("bad usage");
  if (!parse_pid(rest.back(), &out->pid)) {
    err << o.tool << ": invalid PID argument: '" << rest.back() << "'\n";
    return 1;
  }
  if (rest.size() == 2) out->value = rest[0];
  return 0;
}

}  // namespace

shell_context::shell_context() {
  init_waitqueue_head(&closing_);
}

shell_context::~shell_context() {
  close();
}

void shell_context::add(pid_t pid, std::shared_ptr<std::atomic<bool>> stop) {
  std::lock_guard g(lock_);
  tasks_[pid] = std::move(stop);
}

bool shell_context::stop(pid_t pid) {
  std::shared_ptr<std::atomic<bool>> flag;
  {
    std::lock_guard g(lock_);
    auto it = tasks_.find(pid);
    if (it == tasks_.end()) return false;
    flag = it->second;
    tasks_.erase(it);
  }
  flag->store(true);
  join(pid, nullptr);
  return true;
}

bool shell_context::spawned(pid_t pid) const {
  std::lock_guard g(lock_);
  return tasks_.count(pid) != 0;
}

void shell_context::close(bool for_good) {
  std::map<pid_t, std::shared_ptr<std::atomic<bool>>> tasks;
  {
    std::lock_guard g(lock_);
    if (for_good) closed_for_good_ = true;
    closes_++;
    tasks.swap(tasks_);
  }
  wake_up_all(&closing_);
  for (auto& [pid, flag] : tasks) flag->store(true);
  for (auto& [pid, flag] : tasks) join(pid, nullptr);
}

bool shell_context::sleep_ms(long ms) {
  unsigned long seen = closes_.load();
  if (closed_for_good_.load()) return false;
  std::int64_t ns = std::min<std::int64_t>(ms, INT64_MAX / 1'000'000) * 1'000'000;
  return !wait_event_timeout(
      closing_, [&] { return closes_.load() != seen; }, ns);
}

int run_as_task(const std::string& comm, const std::function<int()>& fn, int* status,
                const std::optional<cpumask>& cpus) {
  int result = 0;
  task_attr attr;
  // With every CPU of the mask offline, anywhere (as select_fallback_rq() widens a task's mask).
  if (cpus)
    for (unsigned c : *cpus)
      if (cpu_online(static_cast<int>(c))) attr.cpus = cpus;
  pid_t pid = spawn(
      comm, [&] { result = fn(); }, attr);
  if (pid < 0) return pid;
  join(pid, nullptr);
  *status = result;
  return 0;
}

shell::shell(std::ostream& out, std::ostream& err, shell_context* ctx)
    : out_(&out),
      err_(&err),
      own_ctx_(ctx ? nullptr : new shell_context),
      ctx_(ctx ? ctx : own_ctx_.get()) {}

shell::~shell() = default;

void shell::kill_all() {
  ctx_->close();
}

int shell::in_task(const std::string& comm, const std::function<int()>& fn) {
  std::ostringstream out, err;
  std::ostream* saved_out = out_;
  std::ostream* saved_err = err_;
  out_ = &out;
  err_ = &err;
  int status = 1;
  int ret = run_as_task(comm, fn, &status, cpus_);
  out_ = saved_out;
  err_ = saved_err;
  *out_ << out.str();
  *err_ << err.str();
  if (ret) {
    *err_ << comm << ": cannot run on the machine: " << strerror_of(ret) << "\n";
    return 126;
  }
  return status;
}

std::vector<std::vector<std::string>> shell_split(const std::string& line) {
  std::vector<std::vector<std::string>> cmds;
  std::istringstream in(line);
  for (std::string part; std::getline(in, part, ';');) {
    std::vector<std::string> argv;
    std::istringstream words(part);
    for (std::string w; words >> w;) argv.push_back(w);
    if (!argv.empty() && argv[0][0] != '#') cmds.push_back(std::move(argv));
  }
  return cmds;
}

int shell::run_line(const std::string& line) {
  int status = 0;
  for (const std::vector<std::string>& argv : shell_split(line)) status = run(argv);
  return status;
}

int shell::run(const std::vector<std::string>& a) {
  if (a.empty()) return 0;
  const std::string& cmd = a[0];
  // Commands that act on the machine, or read /proc/self, run as a task named after them.
  using fn = int (shell::*)(const std::vector<std::string>&);
  static const std::map<std::string, fn> in_task_cmds = {
      {"taskset", &shell::taskset}, {"chrt", &shell::chrt},     {"renice", &shell::renice},
      {"spawn", &shell::spawn_cmd}, {"kill", &shell::kill_cmd}, {"cat", &shell::cat},
      {"echo", &shell::echo}};
  if (auto it = in_task_cmds.find(cmd); it != in_task_cmds.end())
    return in_task(cmd, [&, f = it->second] { return (this->*f)(a); });
  if (cmd == "stop_machine") return in_task(cmd, [&] { return stop_machine_cmd(); });
  if (cmd == "ps") {
    *out_ << ps_table(a.size() > 1 && a[1] == "-e");
    return 0;
  }
  if (cmd == "top") return top(a);
  if (cmd == "ls") return ls(a);
  if (cmd == "livepatch") return livepatch(a);
  if (cmd == "dmesg") {
    *out_ << dmesg();
    return 0;
  }
  if (cmd == "sleep") {
    long ms = 0;
    if (a.size() < 2 || !parse_int(a[1], &ms) || ms < 0) {
      *err_ << "sleep: invalid time interval\n";
      return 1;
    }
    return in_task(cmd, [&] { return ctx_->sleep_ms(ms) ? 0 : 130; });
  }
  if (cmd == "trace")
    return trace_command(
        a, *out_, *err_, [this](const std::vector<std::string>& v) { return run(v); }, client_dir_);
  if (cmd == "help") {
    *out_ << "commands: ps [-e] | top [-d SECS] | spawn NAME [-c LIST] [--policy P] [--prio N] "
             "[--nice N] | kill PID\n"
             "          taskset [-p] [-c] [MASK|LIST] PID | chrt -p [-f|-r|-o|-b|-i] [PRIO] PID\n"
             "          renice [-n] NICE [-p] PID... | stop_machine | livepatch\n"
             "          cat FILE | ls [DIR] | echo VALUE > FILE   (FILE: /proc/..., "
             "/sys/devices/system/cpu/...)\n"
             "          trace on [EVENT] | trace off | trace show | trace clear | trace list\n"
             "          trace record [-e EVENT ...] [-o FILE] [CMD ...] | trace stop | trace stat\n"
             "          trace report [FILE] | dmesg | sleep MS\n";
    return 0;
  }
  *err_ << "cpustop: " << cmd << ": command not found\n";
  return 127;
}

// taskset -p [-c] [mask|list] pid  (util-linux semantics and wording).
int shell::taskset(const std::vector<std::string>& a) {
  bool list = false;
  pid_command c;
  // -a (all the threads of the process): every task here is a thread group of its own.
  if (int status = parse_pid_command(
          {"taskset", "ac", {{"--cpu-list", 'c'}, {"--all-tasks", 'a'}}}, a,
          [&](char o) { list |= o == 'c'; }, &c, *err_))
    return status;
  pid_t pid = c.pid;
  cpumask want;
  if (c.value) {
    int err = list ? cpulist_parse(*c.value, nr_cpu_ids(), &want)
                   : (parse_hex_mask(*c.value, nr_cpu_ids(), &want) ? 0 : -EINVAL);
    if (err) {
      *err_ << "taskset: failed to parse CPU " << (list ? "list" : "mask") << ": " << *c.value
            << "\n";
      return 1;
    }
  }
  cpumask cur;
  if (int err = sched_getaffinity(pid, &cur)) {
    *err_ << "taskset: failed to get pid " << pid << "'s affinity: " << strerror_of(err) << "\n";
    return 1;
  }
  auto show = [&](const char* which, const cpumask& m) {
    *out_ << "pid " << pid << "'s " << which << " affinity " << (list ? "list" : "mask") << ": "
          << (list ? util_linux_cpulist(m) : cpumask_to_hex(m)) << "\n";
  };
  show("current", cur);
  if (!c.value) return 0;
  if (int err = sched_setaffinity(pid, want)) {
    *err_ << "taskset: failed to set pid " << pid << "'s affinity: " << strerror_of(err) << "\n";
    return 1;
  }
  sched_getaffinity(pid, &cur);
  show("new", cur);
  return 0;
}

// chrt [policy] -p [prio] pid
int shell::chrt(const std::vector<std::string>& a) {
  static const std::map<char, int> policies = {{'f', SCHED_FIFO},
                                               {'r', SCHED_RR},
                                               {'o', SCHED_NORMAL},
                                               {'b', SCHED_BATCH},
                                               {'i', SCHED_IDLE}};
  int policy = SCHED_RR;  // chrt's default policy
  pid_command c;
  if (int status = parse_pid_command(
          {"chrt",
           "frobi",
           {{"--fifo", 'f'}, {"--rr", 'r'}, {"--other", 'o'}, {"--batch", 'b'}, {"--idle", 'i'}}},
          a, [&](char o) { policy = policies.at(o); }, &c, *err_))
    return status;
  pid_t pid = c.pid;
  if (c.value) {
    long prio;
    if (!parse_int(*c.value, &prio)) {
      *err_ << "chrt: invalid priority argument: '" << *c.value << "'\n";
      return 1;
    }
    if (int err = sched_setscheduler(pid, policy, {static_cast<int>(prio)})) {
      *err_ << "chrt: failed to set pid " << pid << "'s policy: " << strerror_of(err) << "\n";
      return 1;
    }
    return 0;
  }
  int pol = sched_getscheduler(pid);
  sched_param sp{};
  if (pol < 0 || sched_getparam(pid, &sp)) {
    *err_ << "chrt: failed to get pid " << pid
          << "'s policy: " << strerror_of(pol < 0 ? pol : ESRCH) << "\n";
    return 1;
  }
  *out_ << "pid " << pid << "'s current scheduling policy: " << policy_name(pol) << "\n"
        << "pid " << pid << "'s current scheduling priority: " << sp.sched_priority << "\n";
  return 0;
}

// renice [-n] NICE [-p] PID... (util-linux 2.38: -n gives the nice value itself).
int shell::renice(const std::vector<std::string>& a) {
  std::size_t i = 1;
  if (i < a.size() && (a[i] == "-n" || a[i] == "--priority")) i++;
  if (a.size() - i < 2) {
    *err_ << "renice: not enough arguments\nTry 'renice --help' for more information.\n";
    return 1;
  }
  long prio;
  if (!parse_int(a[i], &prio)) {
    *err_ << "renice: invalid priority '" << a[i]
          << "'\nTry 'renice --help' for more information.\n";
    return 1;
  }
  int errs = 0;
  for (i++; i < a.size(); i++) {
    if (a[i] == "-p" || a[i] == "--pid") continue;
    if (a[i] == "-g" || a[i] == "--pgrp" || a[i] == "-u" || a[i] == "--user") {
      *err_ << "renice: " << a[i] << ": only process IDs name tasks of this machine\n";
      errs = 1;
      break;
    }
    pid_t pid;
    if (!parse_pid(a[i], &pid)) {
      *err_ << "renice: bad process ID value: " << a[i] << "\n";
      errs = 1;
      continue;
    }
    int oldprio, newprio;
    if (int err = task_nice(pid, &oldprio)) {
      *err_ << "renice: failed to get priority for " << pid << " (process ID): " << strerror_of(err)
            << "\n";
      errs = 1;
      continue;
    }
    if (int err = set_user_nice(pid, static_cast<int>(prio))) {
      *err_ << "renice: failed to set priority for " << pid << " (process ID): " << strerror_of(err)
            << "\n";
      errs = 1;
      continue;
    }
    task_nice(pid, &newprio);
    *out_ << pid << " (process ID) old priority " << oldprio << ", new priority " << newprio
          << "\n";
  }
  return errs;
}

// spawn NAME [-c LIST] [--policy P] [--prio N] [--nice N]: a task that runs until killed.
int shell::spawn_cmd(const std::vector<std::string>& a) {
  if (a.size() < 2) {
    *err_ << "spawn: missing task name\n";
    return 1;
  }
  task_attr attr;
  for (std::size_t i = 2; i < a.size(); i += 2) {
    const std::string& s = a[i];
    if (i + 1 >= a.size()) {
      *err_ << "spawn: option requires an argument: " << s << "\n";
      return 1;
    }
    const std::string& v = a[i + 1];
    long n = 0;
    if (s == "-c") {
      cpumask m;
      if (cpulist_parse(v, nr_cpu_ids(), &m)) {
        *err_ << "spawn: failed to parse CPU list: " << v << "\n";
        return 1;
      }
      attr.cpus = m;
    } else if (s == "--policy") {
      static const std::map<std::string, int> policies = {{"other", SCHED_NORMAL},
                                                          {"fifo", SCHED_FIFO},
                                                          {"rr", SCHED_RR},
                                                          {"batch", SCHED_BATCH},
                                                          {"idle", SCHED_IDLE}};
      auto it = policies.find(v);
      if (it == policies.end()) {
        *err_ << "spawn: unknown policy: " << v << "\n";
        return 1;
      }
      attr.policy = it->second;
    } else if ((s == "--prio" || s == "--nice") && parse_int(v, &n)) {
      (s == "--prio" ? attr.rt_priority : attr.nice) = static_cast<int>(n);
    } else {
      *err_ << "spawn: bad argument: " << s << " " << v << "\n";
      return 1;
    }
  }
  auto stop = std::make_shared<std::atomic<bool>>(false);
  pid_t pid = spawn(
      a[1],
      [stop] {
        // A CPU hog with preemption points, as a kernel task would have them.
        while (!stop->load(std::memory_order_relaxed)) {
          for (int i = 0; i < 1000; i++) asm volatile("" ::: "memory");
          cond_resched();
        }
      },
      attr);
  if (pid < 0) {
    *err_ << "spawn: failed to create '" << a[1] << "': " << strerror_of(pid) << "\n";
    return 1;
  }
  ctx_->add(pid, stop);
  *out_ << pid << "\n";
  return 0;
}

int shell::kill_cmd(const std::vector<std::string>& a) {
  pid_t pid;
  if (a.size() != 2 || !parse_pid(a[1], &pid)) {
    *err_ << "kill: invalid argument\n";
    return 1;
  }
  if (!ctx_->stop(pid)) {
    *err_ << "kill: (" << pid << ") - "
          << (task_nice(pid, nullptr) == -ESRCH ? "No such process" : "Operation not permitted")
          << "\n";
    return 1;
  }
  return 0;
}

// cat FILE...: any file of the view; /proc/self is this command's task, as in the kernel.
int shell::cat(const std::vector<std::string>& a) {
  if (a.size() < 2) {
    *err_ << "cat: missing operand\n";
    return 1;
  }
  int status = 0;
  for (std::size_t i = 1; i < a.size(); i++) {
    std::string text;
    if (int err = proc_read(a[i], &text, getpid())) {
      *err_ << "cat: " << a[i] << ": " << strerror_of(err) << "\n";
      status = 1;
      continue;
    }
    *out_ << text;
  }
  return status;
}

// ls [DIR]: the names in a directory of the view (default /proc).
int shell::ls(const std::vector<std::string>& a) {
  std::string dir = a.size() > 1 ? a[1] : "/proc";
  std::vector<std::string> names;
  if (int err = proc_readdir(dir, &names)) {
    *err_ << "ls: cannot access '" << dir << "': " << strerror_of(err) << "\n";
    return 2;
  }
  for (const std::string& n : names) *out_ << n << "\n";
  return 0;
}

// echo TEXT [> FILE]: to a file of the view, as one write(2) of "TEXT\n" (CPU hotplug through
// cpuN/online).
int shell::echo(const std::vector<std::string>& a) {
  std::string text;
  std::size_t i = 1;
  for (; i < a.size() && a[i] != ">"; i++) text += (i > 1 ? " " : "") + a[i];
  text += "\n";
  if (i == a.size()) {
    *out_ << text;
    return 0;
  }
  if (i + 2 != a.size()) {
    *err_ << "cpustop: syntax error near unexpected token `newline'\n";
    return 2;
  }
  const std::string& path = a[i + 1];
  int err = proc_write(path, text);
  if (err == -ENOENT) {
    *err_ << "cpustop: " << path << ": No such file or directory\n";
    return 1;
  }
  if (err) {
    *err_ << "cpustop: "
          << (err == -EACCES ? path + ": Permission denied"
                             : std::string("write error: ") + strerror_of(err))
          << "\n";
    return 1;
  }
  return 0;
}

// livepatch: the enabled patches and their functions, as kpatch list shows loaded modules.
int shell::livepatch(const std::vector<std::string>& a) {
  if (a.size() > 1 && a[1] != "list") {
    *err_ << "livepatch: unknown subcommand: " << a[1] << "\n";
    return 1;
  }
  *out_ << "Enabled patches:\n";
  for (const klp_patch_info& p : klp_patches()) {
    *out_ << p.name << " [enabled] (" << p.attempts << " stop_machine attempts, " << p.refused
          << " found a task inside)\n";
    for (const auto& f : p.funcs)
      *out_ << "  " << f.name << ": " << f.active << " calls in flight\n";
  }
  return 0;
}

int shell::stop_machine_cmd() {
  std::atomic<int> ran_on{-1};
  auto t0 = std::chrono::steady_clock::now();
  int ret = stop_machine([&] { ran_on = smp_processor_id(); });
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (ret) {
    *err_ << "stop_machine: " << strerror_of(ret) << "\n";
    return 1;
  }
  *out_ << "stop_machine: stopped " << num_online_cpus() << " CPUs, ran the function once on cpu"
        << ran_on.load() << ", " << us << " us\n";
  return 0;
}

}  // namespace cpustop
