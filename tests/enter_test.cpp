// The real tools inside `cpustop enter`: procps ps and top read the machine's /proc, util-linux
// taskset, chrt and renice steer its tasks (and only its tasks: other pids reach the real kernel),
// a shell script written for the kernel's sysfs hotplugs its CPUs, and other users are turned away.
// Needs root and /dev/fuse; without them each test says which is missing and skips.
#include <sys/resource.h>
#include <sys/stat.h>

#include <map>
#include <regex>

#include "host/runtime_dir.h"
#include "host_util.h"
#include "test_util.h"

namespace cpustop::test {
namespace {

// Tasks that keep running (or sleeping) until the fixture stops them.
class load {
 public:
  pid_t spin(const std::string& name, const task_attr& attr = {}) {
    auto stop = std::make_shared<std::atomic<bool>>(false);
    auto count = std::make_shared<std::atomic<long>>(0);
    pid_t pid = spawn(
        name,
        [stop, count] {
          while (!stop->load(std::memory_order_relaxed)) {
            count->fetch_add(1, std::memory_order_relaxed);
            cond_resched();
          }
        },
        attr);
    EXPECT_GT(pid, 0);
    tasks_[pid] = {stop, count};
    return pid;
  }
  pid_t sleeper(const std::string& name, const task_attr& attr = {}) {
    auto stop = std::make_shared<std::atomic<bool>>(false);
    auto count = std::make_shared<std::atomic<long>>(0);
    pid_t pid = spawn(
        name,
        [stop, count] {
          while (!stop->load()) {
            count->fetch_add(1, std::memory_order_relaxed);
            msleep(1);
          }
        },
        attr);
    EXPECT_GT(pid, 0);
    tasks_[pid] = {stop, count};
    return pid;
  }
  long count(pid_t pid) { return tasks_[pid].count->load(); }
  std::vector<pid_t> pids() const {
    std::vector<pid_t> v;
    for (const auto& [pid, t] : tasks_) v.push_back(pid);
    return v;
  }
  void stop() {
    for (auto& [pid, t] : tasks_) t.stop->store(true);
    for (auto& [pid, t] : tasks_) EXPECT_EQ(join(pid, nullptr), 0) << pid;
    tasks_.clear();
  }
  ~load() { stop(); }

 private:
  struct task {
    std::shared_ptr<std::atomic<bool>> stop;
    std::shared_ptr<std::atomic<long>> count;
  };
  std::map<pid_t, task> tasks_;
};

class enter : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    std::string missing = missing_for_enter({"ps", "top", "taskset", "chrt", "renice", "setpriv"});
    if (!missing.empty()) GTEST_SKIP() << "needs " << missing;
    unsetenv("CPUSTOP_ATTACH");
    boot_params p;
    p.nr_cpus = GetParam();
    ASSERT_EQ(boot(p), 0);
    booted_ = true;
    trace_event_enable("all", false);
  }
  void TearDown() override {
    if (!booted_) return;
    load_.stop();
    trace_event_enable("all", false);
    check_nothing_left(GetParam());
    EXPECT_EQ(shutdown(), 0);
  }
  // Runs a command inside `cpustop enter` on this process's machine.
  cmd_result in_enter(const std::vector<std::string>& cmd) {
    std::vector<std::string> argv = {tool(), "enter", std::to_string(::getpid()), "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run_cmd(argv);
  }
  cmd_result sh(const std::string& script) { return in_enter({"sh", "-c", script}); }
  unsigned ncpus() const { return GetParam(); }

  load load_;
  bool booted_ = false;
};

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> w;
  std::istringstream in(line);
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

TEST_P(enter, ps_lists_every_task_with_the_machines_class_priority_nice_cpu_and_state) {
  load_.spin("hog");
  load_.spin("niced", [] {
    task_attr a;
    a.nice = 5;
    return a;
  }());
  load_.sleeper("rt", on_cpu(ncpus() - 1, SCHED_FIFO, 10));
  cmd_result r = in_enter({"ps", "-eo", "pid,comm,cls,rtprio,ni,pri,psr,stat,time"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<pid_t, task_info> machine;
  for (const task_info& t : task_list()) machine[t.pid] = t;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  EXPECT_TRUE(std::regex_search(line, std::regex("PID COMMAND +CLS RTPRIO +NI PRI PSR STAT +TIME")))
      << line;
  std::set<pid_t> listed;
  while (std::getline(in, line)) {
    auto w = words(line);
    ASSERT_EQ(w.size(), 9u) << line;
    pid_t pid = std::stoi(w[0]);
    ASSERT_TRUE(machine.count(pid)) << "not a task of the machine: " << line;
    const task_info& t = machine[pid];
    listed.insert(pid);
    bool rt = t.policy == SCHED_FIFO || t.policy == SCHED_RR;
    EXPECT_EQ(w[1], t.comm.substr(0, 15)) << line;
    EXPECT_EQ(w[2], sched_policy_cls(t.policy)) << line;
    EXPECT_EQ(w[3], rt ? std::to_string(t.rt_priority) : "-") << line;
    EXPECT_EQ(w[4], rt ? "-" : std::to_string(t.nice)) << line;
    EXPECT_EQ(w[5], std::to_string(39 - (t.prio - MAX_RT_PRIO))) << line;
    EXPECT_LT(std::stoul(w[6]), ncpus()) << line;
    if (t.kthread && t.cpus_allowed.weight() == 1) {
      EXPECT_EQ(w[6], std::to_string(t.cpu)) << line;
    }
    EXPECT_NE(std::string("RSDPIZ").find(w[7][0]), std::string::npos) << line;
    if (t.nice > 0) {
      EXPECT_NE(w[7].find('N'), std::string::npos) << line;
    }
    if (t.comm.rfind("migration/", 0) == 0) {
      EXPECT_EQ(w[2] + " " + w[3] + " " + w[4] + " " + w[5] + " " + w[6],
                "FF 99 - 139 " + t.comm.substr(10))
          << line;
      EXPECT_EQ(w[7], "S") << line;
    }
  }
  for (const auto& [pid, t] : machine)
    EXPECT_TRUE(listed.count(pid)) << "missing " << pid << " " << t.comm;
}

TEST_P(enter, top_shows_every_task) {
  pid_t hog = load_.spin("hog");
  cmd_result r = in_enter({"top", "-b", "-n1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Tasks:"), std::string::npos) << r.out;
  std::set<pid_t> rows;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.size() >= 12 && std::isdigit(static_cast<unsigned char>(w[0][0]))) {
      rows.insert(std::stoi(w[0]));
      if (w[11].rfind("migration", 0) == 0) {
        EXPECT_EQ(w[2], "rt") << line;
      }
      if (std::stoi(w[0]) == hog) {
        EXPECT_EQ(w[7], "R") << line;
      }
    }
  }
  for (const task_info& t : task_list()) EXPECT_TRUE(rows.count(t.pid)) << t.pid << " " << t.comm;
}

TEST_P(enter, taskset_chrt_and_renice_steer_the_machines_tasks_only) {
  if (ncpus() < 2) GTEST_SKIP() << "needs a second CPU";
  pid_t hog = load_.spin("hog", on_cpu(0));
  pid_t fair = load_.sleeper("fair");
  std::string p = std::to_string(hog), f = std::to_string(fair);
  // hog is running on CPU 0: the move goes through migration/0.
  task_info ti;
  while (task_get_info(hog, &ti) == 0 && ti.state != 'R') std::this_thread::yield();
  trace_clear();
  trace_event_enable("sched:*");
  trace_event_enable("stop:*");
  cmd_result r = in_enter({"taskset", "-p", "-c", "1", p});
  trace_event_enable("all", false);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "pid " + p + "'s current affinity list: 0\npid " + p + "'s new affinity list: 1\n");
  cpumask m;
  ASSERT_EQ(sched_getaffinity(hog, &m), 0);
  EXPECT_EQ(m, cpumask::of(1));
  bool queued_by_taskset = false, moved_by_stopper = false;
  for (const trace_record& t : trace_records()) {
    if (t.event == "cpu_stop_queue" && t.comm == "taskset" &&
        t.fields.find("migration_cpu_stop") != std::string::npos)
      queued_by_taskset = true;
    if (t.event == "sched_migrate_task" && t.comm == "migration/0" &&
        t.fields.find("comm=hog pid=" + p + " ") != std::string::npos &&
        t.fields.find("dest_cpu=1") != std::string::npos)
      moved_by_stopper = true;
  }
  EXPECT_TRUE(queued_by_taskset) << trace_text();
  EXPECT_TRUE(moved_by_stopper) << trace_text();
  r = in_enter({"taskset", "-cp", p});
  EXPECT_EQ(r.out, "pid " + p + "'s current affinity list: 1\n") << r.err;

  r = in_enter({"chrt", "-f", "-p", "10", p});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(sched_getscheduler(hog), SCHED_FIFO);
  sched_param sp{};
  ASSERT_EQ(sched_getparam(hog, &sp), 0);
  EXPECT_EQ(sp.sched_priority, 10);
  r = in_enter({"chrt", "-p", p});
  EXPECT_EQ(r.out, "pid " + p + "'s current scheduling policy: SCHED_FIFO\npid " + p +
                       "'s current scheduling priority: 10\n")
      << r.err;
  EXPECT_NE(in_enter({"chrt", "-f", "-p", "10", "4194303"}).status, 0);

  r = in_enter({"renice", "-n", "5", "-p", f});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, f + " (process ID) old priority 0, new priority 5\n");
  int nice = 0;
  ASSERT_EQ(task_nice(fair, &nice), 0);
  EXPECT_EQ(nice, 5);

  // A real process that is not the machine's: the calls reach the real kernel.
  cmd_result real = run_cmd({"sh", "-c", "sleep 30 & echo $!"});
  pid_t other = std::stoi(real.out);
  if (task_get_info(other, &ti) == 0) GTEST_SKIP() << "pid " << other << " is also the machine's";
  std::string o = std::to_string(other);
  EXPECT_EQ(in_enter({"taskset", "-p", o}).out, run_cmd({"taskset", "-p", o}).out);
  EXPECT_EQ(in_enter({"chrt", "-p", o}).out, run_cmd({"chrt", "-p", o}).out);
  r = in_enter({"renice", "-n", "7", "-p", o});
  EXPECT_EQ(r.status, 0) << r.err;
  errno = 0;
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(other)), 7);
  ::kill(other, SIGKILL);
  ASSERT_EQ(task_nice(fair, &nice), 0);
  EXPECT_EQ(nice, 5) << "the machine's task with that nice was not touched";
}

TEST_P(enter, a_sysfs_hotplug_script_offlines_and_onlines_every_cpu_while_tasks_run) {
  // Half of them run, half sleep and wake (every hotplug step waits for CPU time beside them).
  for (unsigned i = 0; i < ncpus(); i++) {
    std::string name = "worker" + std::to_string(i);
    if (i % 2)
      load_.sleeper(name);
    else
      load_.spin(name);
  }
  std::size_t before = task_list().size();
  std::map<pid_t, long> counts;
  for (pid_t pid : load_.pids()) counts[pid] = load_.count(pid);
  cmd_result r = in_enter({"sh", CPUSTOP_HOTPLUG_SCRIPT});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("cpu-on-off: every hotpluggable CPU went offline and came back"),
            std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(task_list().size(), before) << "a task was lost";
  for (pid_t pid : load_.pids()) {
    task_info t;
    ASSERT_EQ(task_get_info(pid, &t), 0) << pid;
    EXPECT_NE(t.state, 'Z');
    while (load_.count(pid) == counts[pid]) std::this_thread::yield();  // it still runs
  }
  for (unsigned c = 0; c < ncpus(); c++) EXPECT_TRUE(cpu_online(static_cast<int>(c)));
}

TEST_P(enter, other_users_cannot_write_or_read_the_view) {
  if (ncpus() < 2) GTEST_SKIP() << "needs a second CPU";
  cmd_result r =
      sh("setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c 'echo 0 > "
         "/sys/devices/system/cpu/cpu1/online'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_TRUE(cpu_online(1));
  r = sh("setpriv --reuid=nobody --regid=nogroup --clear-groups cat /proc/stat");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  // And outside, enter itself needs root.
  r = run_cmd({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", tool(), "enter",
               std::to_string(::getpid()), "--", "true"});
  if (r.status == 126 || r.status == 127) GTEST_SKIP() << "nobody cannot run " << tool();
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
}

// procps keeps /proc/stat, uptime and loadavg open and rereads them after lseek(0) (top's
// %Cpu(s) line comes from those rereads): as with seq_file, each read from the start is new.
TEST_P(enter, a_reread_from_the_start_shows_the_state_of_now) {
  pid_t hog = load_.spin("hog");
  std::string view = host::runtime_dir_find(::getpid()) + "/view";
  int fd = open((view + "/proc/" + std::to_string(hog) + "/stat").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << view;
  auto field = [fd](int n) {
    char buf[1024];
    EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    EXPECT_GT(len, 0);
    std::string line(buf, static_cast<std::size_t>(std::max<ssize_t>(len, 0)));
    auto w = words(line.substr(line.rfind(')') + 2));
    return w.size() > static_cast<std::size_t>(n - 3) ? w[n - 3] : std::string("<short>");
  };
  EXPECT_EQ(field(19), "0");  // nice
  ASSERT_EQ(set_user_nice(hog, 7), 0);
  EXPECT_EQ(field(19), "7");
  load_.stop();
  char c;
  EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(read(fd, &c, 1), -1);
  EXPECT_EQ(errno, ESRCH) << "a reread of a task that is gone";
  close(fd);
  // Nothing is created in the view; the errors are the VFS's for procfs and sysfs.
  cmd_result r =
      sh("echo 0 > /sys/devices/system/cpu/cpu0/online; mkdir /sys/devices/system/cpu/x");
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(cpus, enter, ::testing::Values(2u, 8u), cpus_name);

}  // namespace
}  // namespace cpustop::test
