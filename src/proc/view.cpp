// The view's tree: every path of /proc and /sys/devices/system/cpu resolved to its generator. The
// shell's cat and echo, the control socket and the FUSE export all come through here.
#include <fmt/format.h>

#include <cerrno>
#include <charconv>

#include "cpustop/boot.h"
#include "kernel/percpu.h"
#include "proc/internal.h"

namespace cpustop {

namespace {

using namespace proc;

// What a path names.
enum class kind {
  root,
  proc_dir,
  proc_file,  // name: stat, uptime, loadavg
  proc_sys,   // /proc/sys, /proc/sys/kernel
  proc_sys_kernel,
  sys_kernel_file,   // name: one of sys_kernel_files
  self_link,         // /proc/self
  thread_self_link,  // /proc/thread-self
  pid_dir,           // /proc/<pid> and /proc/<pid>/task/<pid>
  pid_task_dir,      // /proc/<pid>/task
  pid_file,          // name: one of pid_files
  sys_dir,           // /sys, /sys/devices, /sys/devices/system (depth in cpu)
  cpu_dir,           // /sys/devices/system/cpu
  cpu_file,          // name: online, offline, possible, present, isolated, kernel_max
  cpuN_dir,
  cpuN_online,
  cpuN_topology_dir,
  cpuN_topology_file,
};

struct node {
  kind k = kind::root;
  pid_t pid = 0;
  bool in_task = false;  // under /proc/<pid>/task/<tid>
  unsigned cpu = 0;      // cpuN, or the depth of a sys_dir
  std::string_view name;
};

struct pid_file_entry {
  const char* name;
  unsigned mode;
};
// The files of a task's directory (a subset of base.c's tgid_base_stuff); "task" is a directory.
const pid_file_entry pid_files[] = {{"cmdline", 0444}, {"comm", 0444},      {"environ", 0400},
                                    {"sched", 0444},   {"schedstat", 0444}, {"stat", 0444},
                                    {"statm", 0444},   {"status", 0444}};
const char* const proc_files[] = {"loadavg", "stat", "uptime"};
const char* const cpu_files[] = {"isolated", "kernel_max", "offline",
                                 "online",   "possible",   "present"};
const char* const sys_chain[] = {"sys", "devices", "system", "cpu"};

// A decimal without leading zeros, as fs/proc's name_to_int() takes it.
bool parse_uint(std::string_view s, unsigned* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool task_exists(pid_t pid) {
  task_info t;
  return pid > 0 && task_get_info(pid, &t) == 0;
}

template <class T>
bool one_of(std::string_view name, const T& names) {
  for (const auto& n : names)
    if (name == n) return true;
  return false;
}

const pid_file_entry* find_pid_file(std::string_view name) {
  for (const auto& f : pid_files)
    if (name == f.name) return &f;
  return nullptr;
}

bool is_dir(kind k) {
  switch (k) {
    case kind::root:
    case kind::proc_dir:
    case kind::proc_sys:
    case kind::proc_sys_kernel:
    case kind::pid_dir:
    case kind::pid_task_dir:
    case kind::sys_dir:
    case kind::cpu_dir:
    case kind::cpuN_dir:
    case kind::cpuN_topology_dir:
      return true;
    default:
      return false;
  }
}

// The child `name` of directory n. 0, -ENOENT.
int step(const node& n, std::string_view name, pid_t self, node* out) {
  node c;
  switch (n.k) {
    case kind::root:
      if (name == "proc") return *out = {kind::proc_dir}, 0;
      if (name == "sys") return *out = {kind::sys_dir, 0, false, 1}, 0;
      return -ENOENT;
    case kind::proc_dir: {
      unsigned pid;
      if (parse_uint(name, &pid)) {
        if (!task_exists(static_cast<pid_t>(pid))) return -ENOENT;
        return *out = {kind::pid_dir, static_cast<pid_t>(pid)}, 0;
      }
      if (self > 0 && name == "self") return *out = {kind::self_link, self}, 0;
      if (self > 0 && name == "thread-self") return *out = {kind::thread_self_link, self}, 0;
      if (name == "sys") return *out = {kind::proc_sys}, 0;
      if (one_of(name, proc_files)) return c.k = kind::proc_file, c.name = name, *out = c, 0;
      return -ENOENT;
    }
    case kind::proc_sys:
      return name == "kernel" ? (*out = {kind::proc_sys_kernel}, 0) : -ENOENT;
    case kind::proc_sys_kernel:
      if (!one_of(name, sys_kernel_files)) return -ENOENT;
      return c.k = kind::sys_kernel_file, c.name = name, *out = c, 0;
    case kind::pid_dir:
      if (!n.in_task && name == "task") return *out = {kind::pid_task_dir, n.pid}, 0;
      if (find_pid_file(name)) {
        c = n;
        c.k = kind::pid_file;
        c.name = name;
        return *out = c, 0;
      }
      return -ENOENT;
    case kind::pid_task_dir: {
      unsigned tid;
      // Every task is a thread group of its own: its only thread is itself.
      if (!parse_uint(name, &tid) || static_cast<pid_t>(tid) != n.pid) return -ENOENT;
      return *out = {kind::pid_dir, n.pid, true}, 0;
    }
    case kind::sys_dir:
      if (name != sys_chain[n.cpu]) return -ENOENT;
      if (n.cpu == 3) return *out = {kind::cpu_dir}, 0;
      return *out = {kind::sys_dir, 0, false, n.cpu + 1}, 0;
    case kind::cpu_dir: {
      unsigned cpu;
      if (name.size() > 3 && name.substr(0, 3) == "cpu" && parse_uint(name.substr(3), &cpu)) {
        if (cpu >= nr_cpu_ids()) return -ENOENT;
        return *out = {kind::cpuN_dir, 0, false, cpu}, 0;
      }
      if (one_of(name, cpu_files)) return c.k = kind::cpu_file, c.name = name, *out = c, 0;
      return -ENOENT;
    }
    case kind::cpuN_dir:
      c = n;
      if (name == "online" && cpu_hotpluggable(n.cpu)) return c.k = kind::cpuN_online, *out = c, 0;
      if (name == "topology" && cpu_online(static_cast<int>(n.cpu)))
        return c.k = kind::cpuN_topology_dir, *out = c, 0;
      return -ENOENT;
    case kind::cpuN_topology_dir:
      if (!one_of(name, cpu_topology_names())) return -ENOENT;
      c = n;
      c.k = kind::cpuN_topology_file;
      c.name = name;
      return *out = c, 0;
    default:
      return -ENOTDIR;
  }
}

// Resolves an absolute path, following /proc/self and /proc/thread-self in the middle of it.
int resolve(std::string_view path, pid_t self, node* out) {
  if (!booted()) return -ENOENT;
  if (path.empty() || path[0] != '/') return -ENOENT;
  node n;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    if (i == path.size()) break;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view name = path.substr(i, j - i);
    i = j;
    if (!is_dir(n.k)) return -ENOTDIR;
    if (int err = step(n, name, self, &n)) return err;
    bool more = path.find_first_not_of('/', i) != std::string_view::npos;
    if (more && n.k == kind::self_link) n = {kind::pid_dir, n.pid};
    if (more && n.k == kind::thread_self_link) n = {kind::pid_dir, n.pid, true};
  }
  *out = n;
  return 0;
}

proc_entry entry_of(const node& n) {
  proc_entry e;
  e.stable = true;
  if (is_dir(n.k)) {
    e.type = proc_entry_type::dir;
    e.mode = 0555;
    e.stable = n.k != kind::pid_dir && n.k != kind::cpuN_topology_dir;
  } else if (n.k == kind::self_link || n.k == kind::thread_self_link) {
    e.type = proc_entry_type::link;
    e.mode = 0777;
    e.stable = false;
  } else if (n.k == kind::pid_file) {
    e.mode = find_pid_file(n.name)->mode;
  } else if (n.k == kind::cpuN_online ||
             (n.k == kind::sys_kernel_file && sys_kernel_writable(n.name))) {
    e.mode = 0644;
  }
  return e;
}

int read_pid_file(const node& n, std::string* out) {
  if (n.name == "sched") return pid_sched(n.pid, out) ? -ENOENT : 0;
  if (n.name == "schedstat") return pid_schedstat(n.pid, out) ? -ENOENT : 0;
  task_info t;
  if (task_get_info(n.pid, &t)) return -ENOENT;  // it exited since the lookup
  if (n.name == "stat")
    *out = pid_stat(t);
  else if (n.name == "status")
    *out = pid_status(t);
  else if (n.name == "statm")
    *out = pid_statm(t);
  else if (n.name == "comm")
    *out = pid_comm(t);
  else if (n.name == "cmdline")
    *out = pid_cmdline(t);
  else if (n.name == "environ")
    *out = pid_environ(t);
  else
    return -ENOENT;
  return 0;
}

}  // namespace

int proc_lookup(std::string_view path, proc_entry* out, pid_t self) {
  node n;
  if (int err = resolve(path, self, &n)) return err;
  if (out) *out = entry_of(n);
  return 0;
}

int proc_read(std::string_view path, std::string* out, pid_t self) {
  node n;
  if (int err = resolve(path, self, &n)) return err;
  out->clear();
  switch (n.k) {
    case kind::proc_file:
      *out = n.name == "stat"     ? proc_stat_show()
             : n.name == "uptime" ? uptime_show()
                                  : loadavg_show();
      return 0;
    case kind::sys_kernel_file:
      return sys_kernel_show(n.name, out) ? 0 : -ENOENT;
    case kind::pid_file:
      return read_pid_file(n, out);
    case kind::cpu_file:
      if (n.name == "kernel_max") {
        *out = kernel_max_show();
      } else {
        cpu_list l = n.name == "online"     ? cpu_list::online
                     : n.name == "offline"  ? cpu_list::offline
                     : n.name == "possible" ? cpu_list::possible
                     : n.name == "present"  ? cpu_list::present
                                            : cpu_list::isolated;
        *out = cpu_list_show(l);
      }
      return 0;
    case kind::cpuN_online:
      *out = cpu_online_show(n.cpu);
      return 0;
    case kind::cpuN_topology_file:
      return cpu_topology_show(n.cpu, n.name, out) ? 0 : -ENOENT;
    case kind::self_link:
    case kind::thread_self_link:
      return -EINVAL;
    default:
      return -EISDIR;
  }
}

int proc_readlink(std::string_view path, std::string* out, pid_t self) {
  node n;
  if (int err = resolve(path, self, &n)) return err;
  if (n.k == kind::self_link) return *out = std::to_string(n.pid), 0;
  if (n.k == kind::thread_self_link) return *out = fmt::format("{0}/task/{0}", n.pid), 0;
  return -EINVAL;
}

int proc_readdir(std::string_view path, std::vector<std::string>* names, pid_t self) {
  node n;
  if (int err = resolve(path, self, &n)) return err;
  names->clear();
  switch (n.k) {
    case kind::root:
      *names = {"proc", "sys"};
      return 0;
    case kind::proc_dir:
      for (const char* f : proc_files) names->push_back(f);
      names->push_back("sys");
      if (self > 0) names->insert(names->end(), {"self", "thread-self"});
      for (const task_info& t : task_list()) names->push_back(std::to_string(t.pid));
      return 0;
    case kind::proc_sys:
      *names = {"kernel"};
      return 0;
    case kind::proc_sys_kernel:
      names->assign(std::begin(sys_kernel_files), std::end(sys_kernel_files));
      return 0;
    case kind::pid_dir:
      if (!n.in_task) names->push_back("task");
      for (const auto& f : pid_files) names->push_back(f.name);
      return 0;
    case kind::pid_task_dir:
      *names = {std::to_string(n.pid)};
      return 0;
    case kind::sys_dir:
      *names = {sys_chain[n.cpu]};
      return 0;
    case kind::cpu_dir:
      for (unsigned c = 0; c < nr_cpu_ids(); c++) names->push_back(fmt::format("cpu{}", c));
      for (const char* f : cpu_files) names->push_back(f);
      return 0;
    case kind::cpuN_dir:
      if (cpu_hotpluggable(n.cpu)) names->push_back("online");
      if (cpu_online(static_cast<int>(n.cpu))) names->push_back("topology");
      return 0;
    case kind::cpuN_topology_dir:
      *names = cpu_topology_names();
      return 0;
    default:
      return -ENOTDIR;
  }
}

int proc_write(std::string_view path, std::string_view data) {
  node n;
  if (int err = resolve(path, 0, &n)) return err;
  if (n.k == kind::sys_kernel_file) return sys_kernel_store(n.name, data);
  if (n.k != kind::cpuN_online) return is_dir(n.k) ? -EISDIR : -EACCES;
  return cpu_online_store(n.cpu, data);
}

}  // namespace cpustop
