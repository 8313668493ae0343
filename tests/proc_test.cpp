// The views by path, as the kernel prints them: /proc/<pid>/stat with its 52 fields, status,
// comm, cmdline, sched, task/<tid>/, /proc/stat, uptime, loadavg, and /sys/devices/system/cpu with
// the kernel's sysfs store semantics. Bad paths and bad writes change nothing.
#include <regex>
#include <sstream>

#include "test_util.h"

namespace cpustop::test {
namespace {

std::string read_view(const std::string& path, pid_t self = 0) {
  std::string s;
  EXPECT_EQ(proc_read(path, &s, self), 0) << path;
  return s;
}

// Fields of a stat line, numbered as proc(5) does (fields[1] is the pid; comm without parens).
std::vector<std::string> stat_fields(const std::string& line) {
  std::vector<std::string> f(1);
  std::size_t open = line.find('('), close = line.rfind(')');
  f.push_back(line.substr(0, open - 1));
  f.push_back(line.substr(open + 1, close - open - 1));
  std::istringstream in(line.substr(close + 2));
  for (std::string w; in >> w;) f.push_back(w);
  return f;
}

std::string status_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":\t", 0) == 0) return line.substr(key.size() + 2);
  return "<missing>";
}

class proc_view : public machine {};

TEST_P(proc_view, stat_has_the_kernels_52_fields_for_every_task) {
  for (const task_info& t : task_list()) {
    std::string line = read_view("/proc/" + std::to_string(t.pid) + "/stat");
    ASSERT_EQ(line.back(), '\n');
    auto f = stat_fields(line);
    ASSERT_EQ(f.size(), 53u) << line;  // 52 fields plus the unused [0]
    EXPECT_EQ(f[1], std::to_string(t.pid));
    EXPECT_EQ(f[2], t.comm);
    bool kthread = t.kthread;
    pid_t ppid = t.pid <= 2 ? 0 : kthread ? 2 : 1;
    EXPECT_EQ(f[4], std::to_string(ppid)) << line;
    EXPECT_EQ(f[5], kthread || t.pid == 2 ? "0" : "1") << line;  // pgrp
    EXPECT_EQ(f[6], f[5]) << line;                               // session
    EXPECT_EQ(f[8], "-1");                                       // no terminal
    EXPECT_EQ(f[18], std::to_string(t.prio - 100)) << line;      // priority
    EXPECT_EQ(f[20], "1");                                       // num_threads
    EXPECT_EQ(f[38], "17") << line;                              // exit_signal: SIGCHLD
    EXPECT_EQ(f[40], std::to_string(t.rt_priority));
    EXPECT_EQ(f[41], std::to_string(t.policy));
    if (t.comm.rfind("migration/", 0) == 0) {
      EXPECT_EQ(f[18], "-100");
      EXPECT_EQ(f[39], t.comm.substr(10)) << "a stopper never leaves its CPU";
      EXPECT_EQ(f[40], "99");
      EXPECT_EQ(f[41], "1");
    }
  }
}

TEST_P(proc_view, status_comm_cmdline_and_task_dir) {
  // The worker sleeps until the end, so that its state and switch counts hold still.
  completion go;
  init_completion(&go);
  pid_t pid = spawn("worker", [&go] { wait_for_completion(&go); });
  ASSERT_GT(pid, 0);
  task_info t;
  while (task_get_info(pid, &t) == 0 && t.state != 'D')
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string p = std::to_string(pid);
  std::string status = read_view("/proc/" + p + "/status");
  EXPECT_EQ(status_field(status, "Name"), "worker");
  EXPECT_EQ(status_field(status, "Tgid"), p);
  EXPECT_EQ(status_field(status, "Pid"), p);
  EXPECT_EQ(status_field(status, "PPid"), "1");
  EXPECT_EQ(status_field(status, "Threads"), "1");
  EXPECT_EQ(status_field(status, "Kthread"), "0");
  EXPECT_EQ(status_field(status, "Cpus_allowed_list"),
            cpumask_to_cpulist(cpumask::first_n(ncpus())));
  // %*pb: as many hex digits as nr_cpu_ids needs, in 32-bit chunks.
  const char* hex[] = {"", "1", "3", "", "f", "", "", "", "ff"};
  EXPECT_EQ(status_field(status, "Cpus_allowed"), hex[ncpus()]);
  EXPECT_NE(status_field(status, "voluntary_ctxt_switches"), "<missing>");
  EXPECT_NE(status_field(status, "nonvoluntary_ctxt_switches"), "<missing>");
  EXPECT_EQ(read_view("/proc/" + p + "/comm"), "worker\n");
  EXPECT_EQ(read_view("/proc/" + p + "/cmdline"), std::string("worker\0", 7));
  // The task's only thread is itself.
  EXPECT_EQ(read_view("/proc/" + p + "/task/" + p + "/status"),
            read_view("/proc/" + p + "/status"));
  std::vector<std::string> names;
  ASSERT_EQ(proc_readdir("/proc/" + p + "/task", &names), 0);
  EXPECT_EQ(names, std::vector<std::string>{p});
  complete(&go);
  EXPECT_EQ(join(pid, nullptr), 0);
  std::string gone;
  EXPECT_EQ(proc_read("/proc/" + p + "/stat", &gone), -ENOENT);

  // Kernel threads: no command line, ppid 2, no process group or session.
  for (const task_info& k : task_list()) {
    if (!k.kthread || k.pid == 2) continue;
    std::string s = read_view("/proc/" + std::to_string(k.pid) + "/status");
    EXPECT_EQ(status_field(s, "PPid"), "2");
    EXPECT_EQ(status_field(s, "NSpgid"), "0");
    EXPECT_EQ(status_field(s, "NSsid"), "0");
    EXPECT_EQ(status_field(s, "Kthread"), "1");
    EXPECT_EQ(read_view("/proc/" + std::to_string(k.pid) + "/cmdline"), "");
  }
}

TEST_P(proc_view, sched_shows_the_scheduler_counts_in_debug_c_format) {
  pid_t pid = spawn("sleeper", [] {
    for (int i = 0; i < 5; i++) msleep(1);
  });
  ASSERT_GT(pid, 0);
  task_info t;
  while (task_get_info(pid, &t) == 0 && t.state != 'Z')
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string text = read_view("/proc/" + std::to_string(pid) + "/sched");
  EXPECT_EQ(text.rfind("sleeper (" + std::to_string(pid) + ", #threads: 1)\n-----", 0), 0u) << text;
  for (const char* key : {"se.exec_start", "se.vruntime", "se.sum_exec_runtime"})
    EXPECT_TRUE(
        std::regex_search(text, std::regex(std::string("\n") + key + " +: +-?[0-9]+\\.[0-9]{6}\n")))
        << key << "\n"
        << text;
  for (const char* key :
       {"se.nr_migrations", "nr_switches", "nr_involuntary_switches", "policy", "prio"})
    EXPECT_TRUE(std::regex_search(text, std::regex(std::string("\n") + key + " +: +-?[0-9]+\n")))
        << key;
  // Every line is "%-45s:%21Ld" or "%-45s:%14Ld.%06ld": 68 characters.
  EXPECT_EQ(text.find("\nse.nr_migrations") - text.find("\nse.exec_start"), 3u * 68) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("\nnr_voluntary_switches +: +([0-9]+)\n")));
  EXPECT_GE(std::stoul(m[1]), 5u);
  EXPECT_EQ(join(pid, nullptr), 0);
}

TEST_P(proc_view, proc_stat_uptime_loadavg_and_self) {
  std::string stat = read_view("/proc/stat");
  std::istringstream in(stat);
  std::string line;
  std::getline(in, line);
  EXPECT_TRUE(std::regex_match(line, std::regex("cpu  [0-9]+( [0-9]+){9}"))) << line;
  for (unsigned c = 0; c < ncpus(); c++) {
    std::getline(in, line);
    EXPECT_TRUE(std::regex_match(line, std::regex("cpu" + std::to_string(c) + "( [0-9]+){10}")))
        << line;
  }
  for (const char* key :
       {"intr ", "ctxt ", "btime ", "processes ", "procs_running ", "procs_blocked ", "softirq "})
    EXPECT_NE(stat.find(std::string("\n") + key), std::string::npos) << key;
  EXPECT_TRUE(std::regex_match(read_view("/proc/uptime"),
                               std::regex("[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2}\n")));
  std::string loadavg = read_view("/proc/loadavg");
  EXPECT_TRUE(std::regex_match(
      loadavg,
      std::regex("[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2} [0-9]+/[0-9]+ [0-9]+\n")))
      << loadavg;
  // /proc/self is the reader's own task, when the reader says who it is.
  EXPECT_EQ(proc_read("/proc/self/stat", &line), -ENOENT);
  std::string link;
  EXPECT_EQ(proc_readlink("/proc/self", &link, 2), 0);
  EXPECT_EQ(link, "2");
  EXPECT_EQ(read_view("/proc/self/stat", 2), read_view("/proc/2/stat"));
  EXPECT_EQ(proc_readlink("/proc/thread-self", &link, 2), 0);
  EXPECT_EQ(link, "2/task/2");
}

TEST_P(proc_view, offline_cpus_leave_proc_stat_and_their_topology) {
  if (ncpus() < 2) GTEST_SKIP() << "needs a second CPU";
  unsigned last = ncpus() - 1;
  std::string online = "/sys/devices/system/cpu/cpu" + std::to_string(last) + "/online";
  ASSERT_EQ(proc_write(online, "0\n"), 0);
  EXPECT_EQ(read_view(online), "0\n");
  EXPECT_EQ(read_view("/proc/stat").find("cpu" + std::to_string(last) + " "), std::string::npos);
  proc_entry e;
  EXPECT_EQ(proc_lookup("/sys/devices/system/cpu/cpu" + std::to_string(last) + "/topology", &e),
            -ENOENT);
  EXPECT_EQ(read_view("/sys/devices/system/cpu/offline"), std::to_string(last) + "\n");
  EXPECT_EQ(read_view("/sys/devices/system/cpu/online"),
            (last == 1 ? std::string("0") : "0-" + std::to_string(last - 1)) + "\n");
  ASSERT_EQ(proc_write(online, "1\n"), 0);
  EXPECT_EQ(read_view("/sys/devices/system/cpu/offline"), "\n");
  EXPECT_EQ(proc_lookup("/sys/devices/system/cpu/cpu" + std::to_string(last) + "/topology", &e), 0);
}

TEST_P(proc_view, cpu_online_stores_follow_sysfs) {
  EXPECT_EQ(read_view("/sys/devices/system/cpu/possible"),
            cpumask_to_cpulist(cpumask::first_n(ncpus())) + "\n");
  EXPECT_EQ(read_view("/sys/devices/system/cpu/present"),
            read_view("/sys/devices/system/cpu/possible"));
  EXPECT_EQ(read_view("/sys/devices/system/cpu/kernel_max"), std::to_string(NR_CPUS - 1) + "\n");
  // cpu0 is the boot CPU: no online file, as on x86.
  proc_entry e;
  EXPECT_EQ(proc_lookup("/sys/devices/system/cpu/cpu0/online", &e), -ENOENT);
  EXPECT_EQ(proc_write("/sys/devices/system/cpu/cpu0/online", "0"), -ENOENT);
  EXPECT_TRUE(cpu_online(0));
  if (ncpus() < 2) return;
  std::string f = "/sys/devices/system/cpu/cpu1/online";
  ASSERT_EQ(proc_lookup(f, &e), 0);
  EXPECT_EQ(e.mode, 0644u);
  EXPECT_EQ(proc_write(f, "1\n"), 0) << "the state it is in: a no-op";
  unsigned offlined = get_sched_stats().cpus_offlined;
  for (const char* bad : {"2", "", "x", "-1", "\n", "o"}) {
    EXPECT_EQ(proc_write(f, bad), -EINVAL) << bad;
    EXPECT_TRUE(cpu_online(1));
  }
  EXPECT_EQ(get_sched_stats().cpus_offlined, offlined);
  EXPECT_EQ(proc_write(f, "off"), 0);  // kstrtobool
  EXPECT_FALSE(cpu_online(1));
  EXPECT_EQ(proc_write(f, "n"), 0);
  EXPECT_EQ(proc_write(f, "on\n"), 0);
  EXPECT_TRUE(cpu_online(1));
  // The last online CPU stays: take every other hotpluggable one down first.
  if (ncpus() == 2) {
    ASSERT_EQ(cpu_down(0), 0);
    EXPECT_EQ(proc_write(f, "0"), -EBUSY);
    EXPECT_TRUE(cpu_online(1));
    ASSERT_EQ(cpu_up(0), 0);
  }
  EXPECT_EQ(proc_write("/proc/1/stat", "x"), -EACCES);
  EXPECT_EQ(proc_write("/sys/devices/system/cpu/cpu99/online", "0"), -ENOENT);
}

// /proc/sys/kernel: the CFS tunables read-only; RT bandwidth written as sched_rt_handler() takes
// it, and a bad write leaves both values as they were.
TEST_P(proc_view, sys_kernel_rt_bandwidth_stores_follow_sched_rt_handler) {
  const std::string period = "/proc/sys/kernel/sched_rt_period_us";
  const std::string runtime = "/proc/sys/kernel/sched_rt_runtime_us";
  EXPECT_EQ(read_view(period), "1000000\n");
  EXPECT_EQ(read_view(runtime), "950000\n");
  proc_entry e;
  ASSERT_EQ(proc_lookup(runtime, &e), 0);
  EXPECT_EQ(e.mode, 0644u);
  ASSERT_EQ(proc_lookup("/proc/sys/kernel/sched_latency_ns", &e), 0);
  EXPECT_EQ(e.mode, 0444u);
  EXPECT_EQ(proc_write("/proc/sys/kernel/sched_latency_ns", "1000000"), -EACCES);
  for (const char* bad : {"", "\n", "x", "5x", "-2", "1000001", "2147483648", "99999999999"}) {
    EXPECT_EQ(proc_write(runtime, bad), -EINVAL) << bad;
    EXPECT_EQ(read_view(runtime), "950000\n") << bad;
  }
  for (const char* bad : {"0", "-1", "900000", "x"}) {  // 900000: under the runtime
    EXPECT_EQ(proc_write(period, bad), -EINVAL) << bad;
    EXPECT_EQ(read_view(period), "1000000\n") << bad;
  }
  EXPECT_EQ(proc_write(runtime, " 500000\n"), 0);
  EXPECT_EQ(read_view(runtime), "500000\n");
  EXPECT_EQ(proc_write(period, "600000"), 0);
  EXPECT_EQ(proc_write(runtime, "-1"), 0) << "RUNTIME_INF: no throttling";
  EXPECT_EQ(read_view(runtime), "-1\n");
  EXPECT_EQ(proc_write(period, "1"), 0) << "any period goes with no limit";
  EXPECT_EQ(proc_write(runtime, "2"), -EINVAL);
  EXPECT_EQ(read_view(period), "1\n");
}

TEST_P(proc_view, paths_resolve_as_in_the_kernel) {
  std::vector<std::string> names;
  ASSERT_EQ(proc_readdir("/proc", &names), 0);
  for (const task_info& t : task_list())
    EXPECT_NE(std::find(names.begin(), names.end(), std::to_string(t.pid)), names.end()) << t.pid;
  EXPECT_EQ(std::count(names.begin(), names.end(), "0"), 0) << "the idle tasks have no directory";
  std::string s;
  EXPECT_EQ(proc_read("/proc/01/stat", &s), -ENOENT) << "no leading zeros (name_to_int)";
  EXPECT_EQ(proc_read("/proc/1/stat/x", &s), -ENOTDIR);
  EXPECT_EQ(proc_read("/proc", &s), -EISDIR);
  EXPECT_EQ(proc_read("proc/stat", &s), -ENOENT);
  EXPECT_EQ(proc_read("/proc/1/task/2/stat", &s), -ENOENT);
  EXPECT_EQ(read_view("//proc//1//comm"), read_view("/proc/1/comm"));
  ASSERT_EQ(proc_readdir("/sys/devices/system/cpu", &names), 0);
  EXPECT_EQ(std::count_if(names.begin(), names.end(),
                          [](const std::string& n) {
                            return n.rfind("cpu", 0) == 0 && n.size() > 3 && isdigit(n[3]);
                          }),
            static_cast<long>(ncpus()));
}

CPUSTOP_INSTANTIATE(proc_view);

// A declared topology shows in sysfs as the kernel's files.
class proc_topology : public ::testing::Test {};

TEST_F(proc_topology, topology_files_follow_the_declared_topology) {
  boot_params p;
  p.nr_cpus = 8;
  p.topology = "smt=2,llc=4,numa=2";
  ASSERT_EQ(boot(p), 0);
  auto topo = [](unsigned cpu, const std::string& name) {
    return read_view("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/" + name);
  };
  EXPECT_EQ(topo(5, "thread_siblings_list"), "4-5\n");
  EXPECT_EQ(topo(5, "core_cpus_list"), "4-5\n");
  EXPECT_EQ(topo(5, "thread_siblings"), "30\n");
  EXPECT_EQ(topo(5, "core_id"), "2\n");
  EXPECT_EQ(topo(2, "package_cpus_list"), "0-7\n");
  EXPECT_EQ(topo(2, "physical_package_id"), "0\n");
  std::string s;
  EXPECT_EQ(proc_read("/sys/devices/system/cpu/cpu2/topology/core_id_list", &s), -ENOENT);
  ASSERT_EQ(cpu_down(4), 0);
  EXPECT_EQ(topo(5, "thread_siblings_list"), "5\n") << "siblings are the online ones";
  ASSERT_EQ(cpu_up(4), 0);
  EXPECT_EQ(shutdown(), 0);
}

}  // namespace
}  // namespace cpustop::test
