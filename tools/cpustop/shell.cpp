// The commands of `cpustop shell` (and of the demo): util-linux style tools that act on the
// booted machine. Each returns an exit status and prints as its namesake does; errors go to
// stderr as "tool: message" and change nothing.
#include "shell.h"

#include <fmt/core.h>

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
#include "trace_cmd.h"

namespace cpustop::tool {

namespace {

const char* strerror_of(int err) {
  return std::strerror(err < 0 ? -err : err);
}

bool parse_int(const std::string& s, long* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_pid(const std::string& s, pid_t* pid) {
  long v;
  if (!parse_int(s, &v) || v <= 0 || v > 4 * 1024 * 1024) return false;
  *pid = static_cast<pid_t>(v);
  return true;
}

// A hex CPU mask as taskset takes it ("3", "0x3", "ff,00000000").
bool parse_hex_mask(std::string s, unsigned nr, cpumask* out) {
  if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s = s.substr(2);
  std::string digits;
  for (char c : s)
    if (c != ',') digits += c;
  if (digits.empty()) return false;
  cpumask m;
  unsigned bit = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, bit += 4) {
    int v;
    if (*it >= '0' && *it <= '9')
      v = *it - '0';
    else if (*it >= 'a' && *it <= 'f')
      v = *it - 'a' + 10;
    else if (*it >= 'A' && *it <= 'F')
      v = *it - 'A' + 10;
    else
      return false;
    for (int b = 0; b < 4; b++)
      if (v & (1 << b)) {
        if (bit + static_cast<unsigned>(b) >= nr) return false;
        m.set(bit + static_cast<unsigned>(b));
      }
  }
  *out = m;
  return true;
}

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

}  // namespace

shell::shell(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

shell::~shell() {
  kill_all();
}

void shell::kill_all() {
  // Flag them all first: a spinning rt task keeps the fair ones behind it from seeing theirs.
  for (auto& [pid, flag] : spinners_) flag->store(true);
  for (auto& [pid, flag] : spinners_) join(pid, nullptr);
  spinners_.clear();
}

int shell::run_line(const std::string& line) {
  std::vector<std::string> args;
  std::istringstream in(line);
  for (std::string w; in >> w;) args.push_back(w);
  if (args.empty() || args[0][0] == '#') return 0;
  return run(args);
}

int shell::run_script(const std::string& script) {
  int status = 0;
  std::string cmd;
  std::istringstream in(script);
  while (std::getline(in, cmd, ';')) status = run_line(cmd);
  return status;
}

int shell::run(const std::vector<std::string>& a) {
  const std::string& cmd = a[0];
  if (cmd == "taskset") return taskset(a);
  if (cmd == "chrt") return chrt(a);
  if (cmd == "ps") {
    out_ << ps_table(a.size() > 1 && a[1] == "-e");
    return 0;
  }
  if (cmd == "spawn") return spawn_cmd(a);
  if (cmd == "kill") return kill_cmd(a);
  if (cmd == "cat") return cat(a);
  if (cmd == "echo") return echo(a);
  if (cmd == "stop_machine") return stop_machine_cmd();
  if (cmd == "dmesg") {
    out_ << dmesg();
    return 0;
  }
  if (cmd == "sleep") {
    long ms = 0;
    if (a.size() < 2 || !parse_int(a[1], &ms) || ms < 0) {
      err_ << "sleep: invalid time interval\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return 0;
  }
  if (cmd == "trace")
    return trace_command(a, out_, err_,
                         [this](const std::vector<std::string>& v) { return run(v); });
  if (cmd == "help") {
    out_ << "commands: ps [-e] | spawn NAME [-c LIST] [--policy P] [--prio N] [--nice N] | kill "
            "PID\n"
            "          taskset [-p] [-c] [MASK|LIST] PID | chrt -p [-f|-r|-o|-b|-i] [PRIO] PID\n"
            "          cat /proc/stat | cat /proc/PID/stat | cat /proc/PID/status | dmesg\n"
            "          echo 0|1 > /sys/devices/system/cpu/cpuN/online | stop_machine\n"
            "          trace on [EVENT] | trace off | trace show | trace clear | trace list\n"
            "          trace record [-e EVENT ...] [-o FILE] [CMD ...] | trace stop | trace stat\n"
            "          trace report [FILE] | sleep MS\n";
    return 0;
  }
  err_ << "cpustop: " << cmd << ": command not found\n";
  return 127;
}

// taskset [-p] [-c] [mask|list] pid  (util-linux semantics and wording).
int shell::taskset(const std::vector<std::string>& a) {
  bool list = false, pid_mode = false;
  std::vector<std::string> rest;
  for (std::size_t i = 1; i < a.size(); i++) {
    const std::string& s = a[i];
    if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-pc") == std::string::npos) {
      if (s.find('p') != std::string::npos) pid_mode = true;
      if (s.find('c') != std::string::npos) list = true;
    } else if (s == "--pid") {
      pid_mode = true;
    } else if (s == "--cpu-list") {
      list = true;
    } else {
      rest.push_back(s);
    }
  }
  if (!pid_mode || rest.empty() || rest.size() > 2) {
    err_ << "taskset: bad usage\nTry 'taskset --help' for more information.\n";
    return 1;
  }
  pid_t pid;
  if (!parse_pid(rest.back(), &pid)) {
    err_ << "taskset: invalid PID argument: '" << rest.back() << "'\n";
    return 1;
  }
  cpumask want;
  if (rest.size() == 2) {
    int err = list ? cpulist_parse(rest[0], nr_cpu_ids(), &want)
                   : (parse_hex_mask(rest[0], nr_cpu_ids(), &want) ? 0 : -EINVAL);
    if (err) {
      err_ << "taskset: failed to parse CPU " << (list ? "list" : "mask") << ": " << rest[0]
           << "\n";
      return 1;
    }
  }
  cpumask cur;
  if (int err = sched_getaffinity(pid, &cur)) {
    err_ << "taskset: failed to get pid " << pid << "'s affinity: " << strerror_of(err) << "\n";
    return 1;
  }
  auto show = [&](const char* which, const cpumask& m) {
    out_ << "pid " << pid << "'s " << which << " affinity " << (list ? "list" : "mask") << ": "
         << (list ? cpumask_to_cpulist(m) : cpumask_to_hex(m)) << "\n";
  };
  show("current", cur);
  if (rest.size() == 1) return 0;
  if (int err = sched_setaffinity(pid, want)) {
    err_ << "taskset: failed to set pid " << pid << "'s affinity: " << strerror_of(err) << "\n";
    return 1;
  }
  sched_getaffinity(pid, &cur);
  show("new", cur);
  return 0;
}

// chrt -p [policy] [prio] pid
int shell::chrt(const std::vector<std::string>& a) {
  int policy = -1;
  bool pid_mode = false;
  std::vector<std::string> rest;
  for (std::size_t i = 1; i < a.size(); i++) {
    const std::string& s = a[i];
    if (s == "-p" || s == "--pid")
      pid_mode = true;
    else if (s == "-f" || s == "--fifo")
      policy = SCHED_FIFO;
    else if (s == "-r" || s == "--rr")
      policy = SCHED_RR;
    else if (s == "-o" || s == "--other")
      policy = SCHED_NORMAL;
    else if (s == "-b" || s == "--batch")
      policy = SCHED_BATCH;
    else if (s == "-i" || s == "--idle")
      policy = SCHED_IDLE;
    else
      rest.push_back(s);
  }
  if (!pid_mode || rest.empty() || rest.size() > 2) {
    err_ << "chrt: bad usage\nTry 'chrt --help' for more information.\n";
    return 1;
  }
  pid_t pid;
  if (!parse_pid(rest.back(), &pid)) {
    err_ << "chrt: invalid PID argument: '" << rest.back() << "'\n";
    return 1;
  }
  if (rest.size() == 2) {
    long prio;
    if (!parse_int(rest[0], &prio)) {
      err_ << "chrt: invalid priority argument: '" << rest[0] << "'\n";
      return 1;
    }
    if (policy < 0) policy = SCHED_RR;  // chrt's default policy
    if (int err = sched_setscheduler(pid, policy, {static_cast<int>(prio)})) {
      err_ << "chrt: failed to set pid " << pid << "'s policy: " << strerror_of(err) << "\n";
      return 1;
    }
    return 0;
  }
  int pol = sched_getscheduler(pid);
  sched_param sp{};
  if (pol < 0 || sched_getparam(pid, &sp)) {
    err_ << "chrt: failed to get pid " << pid << "'s policy: " << strerror_of(pol < 0 ? pol : ESRCH)
         << "\n";
    return 1;
  }
  out_ << "pid " << pid << "'s current scheduling policy: " << policy_name(pol) << "\n"
       << "pid " << pid << "'s current scheduling priority: " << sp.sched_priority << "\n";
  return 0;
}

// spawn NAME [-c LIST] [--policy P] [--prio N] [--nice N]: a task that runs until killed.
int shell::spawn_cmd(const std::vector<std::string>& a) {
  if (a.size() < 2) {
    err_ << "spawn: missing task name\n";
    return 1;
  }
  task_attr attr;
  for (std::size_t i = 2; i < a.size(); i += 2) {
    const std::string& s = a[i];
    if (i + 1 >= a.size()) {
      err_ << "spawn: option requires an argument: " << s << "\n";
      return 1;
    }
    const std::string& v = a[i + 1];
    long n = 0;
    if (s == "-c") {
      cpumask m;
      if (cpulist_parse(v, nr_cpu_ids(), &m)) {
        err_ << "spawn: failed to parse CPU list: " << v << "\n";
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
        err_ << "spawn: unknown policy: " << v << "\n";
        return 1;
      }
      attr.policy = it->second;
    } else if ((s == "--prio" || s == "--nice") && parse_int(v, &n)) {
      (s == "--prio" ? attr.rt_priority : attr.nice) = static_cast<int>(n);
    } else {
      err_ << "spawn: bad argument: " << s << " " << v << "\n";
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
    err_ << "spawn: failed to create '" << a[1] << "': " << strerror_of(pid) << "\n";
    return 1;
  }
  spinners_[pid] = stop;
  out_ << pid << "\n";
  return 0;
}

int shell::kill_cmd(const std::vector<std::string>& a) {
  pid_t pid;
  if (a.size() != 2 || !parse_pid(a[1], &pid)) {
    err_ << "kill: invalid argument\n";
    return 1;
  }
  auto it = spinners_.find(pid);
  if (it == spinners_.end()) {
    err_ << "kill: (" << pid << ") - No such process\n";
    return 1;
  }
  it->second->store(true);
  join(pid, nullptr);
  spinners_.erase(it);
  return 0;
}

int shell::cat(const std::vector<std::string>& a) {
  if (a.size() != 2) {
    err_ << "cat: missing operand\n";
    return 1;
  }
  const std::string& path = a[1];
  std::string text;
  if (path == "/proc/stat") {
    text = proc_stat();
  } else if (path.rfind("/proc/", 0) == 0) {
    std::string rest = path.substr(6);
    std::size_t slash = rest.find('/');
    pid_t pid;
    if (slash != std::string::npos && parse_pid(rest.substr(0, slash), &pid)) {
      std::string file = rest.substr(slash + 1);
      if (file == "stat") text = proc_pid_stat(pid);
      if (file == "status") text = proc_pid_status(pid);
    }
  } else if (path.rfind("/sys/devices/system/cpu/cpu", 0) == 0) {
    long cpu;
    std::string rest = path.substr(27);
    std::size_t slash = rest.find('/');
    if (slash != std::string::npos && rest.substr(slash) == "/online" &&
        parse_int(rest.substr(0, slash), &cpu) && cpu >= 0 && cpu < static_cast<long>(nr_cpu_ids()))
      text = cpu_online(static_cast<int>(cpu)) ? "1\n" : "0\n";
  }
  if (text.empty()) {
    err_ << "cat: " << path << ": No such file or directory\n";
    return 1;
  }
  out_ << text;
  return 0;
}

// echo 0|1 > /sys/devices/system/cpu/cpuN/online: CPU hotplug, as through sysfs.
int shell::echo(const std::vector<std::string>& a) {
  if (a.size() != 4 || a[2] != ">") {
    for (std::size_t i = 1; i < a.size(); i++) out_ << (i > 1 ? " " : "") << a[i];
    out_ << "\n";
    return 0;
  }
  const std::string& path = a[3];
  long cpu = -1;
  std::string prefix = "/sys/devices/system/cpu/cpu";
  if (path.rfind(prefix, 0) == 0) {
    std::string rest = path.substr(prefix.size());
    std::size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.substr(slash) != "/online" ||
        !parse_int(rest.substr(0, slash), &cpu))
      cpu = -1;
  }
  if (cpu < 0 || cpu >= static_cast<long>(nr_cpu_ids())) {
    err_ << "cpustop: " << path << ": No such file or directory\n";
    return 1;
  }
  if (a[1] != "0" && a[1] != "1") {
    err_ << "cpustop: write error: Invalid argument\n";
    return 1;
  }
  int err = a[1] == "1" ? cpu_up(static_cast<unsigned>(cpu)) : cpu_down(static_cast<unsigned>(cpu));
  if (err) {
    err_ << "cpustop: write error: " << strerror_of(err) << "\n";
    return 1;
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
    err_ << "stop_machine: " << strerror_of(ret) << "\n";
    return 1;
  }
  out_ << "stop_machine: stopped " << num_online_cpus() << " CPUs, ran the function once on cpu"
       << ran_on.load() << ", " << us << " us\n";
  return 0;
}

int cmd_shell(const boot_options& opts, const std::string& script) {
  trace_file_start(opts.trace_files);
  if (int err = boot(opts.params())) {
    fmt::print(stderr, "cpustop: boot failed: {}\n", std::strerror(-err));
    return 1;
  }
  int status = 0;
  {
    shell sh(std::cout, std::cerr);
    if (!script.empty()) {
      status = sh.run_script(script);
    } else {
      std::string line;
      if (isatty(STDIN_FILENO)) std::cout << "cpustop# " << std::flush;
      while (std::getline(std::cin, line)) {
        if (line == "exit" || line == "quit") break;
        status = sh.run_line(line);
        if (isatty(STDIN_FILENO)) std::cout << "cpustop# " << std::flush;
      }
    }
  }
  if (int err = shutdown()) {
    fmt::print(stderr, "cpustop: shutdown failed: {}\n", std::strerror(-err));
    return 1;
  }
  return trace_file_write(opts.trace_files, std::cerr) | status;
}

}  // namespace cpustop::tool
