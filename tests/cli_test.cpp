// The shell commands as a user meets them: util-linux wording, nonzero exit status on bad input,
// and bad input changes nothing.
#include <sstream>

#include "cpustop/shell.h"
#include "host_util.h"
#include "test_util.h"

namespace cpustop::test {
namespace {

class cli : public ::testing::Test {
 protected:
  void SetUp() override {
    boot_params p;
    p.nr_cpus = 4;
    ASSERT_EQ(boot(p), 0);
    sh_ = std::make_unique<shell>(out_, err_);
  }
  void TearDown() override {
    sh_.reset();  // joins what it spawned
    check_nothing_left(4);
    EXPECT_EQ(shutdown(), 0);
  }
  // Runs one line; returns its status and leaves its output in out()/err().
  int run(const std::string& line) {
    out_.str("");
    err_.str("");
    return sh_->run_line(line);
  }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }
  pid_t spawn_hog(const std::string& args) {
    EXPECT_EQ(run("spawn hog " + args), 0) << err();
    return static_cast<pid_t>(std::stol(out()));
  }

 private:
  std::ostringstream out_, err_;
  std::unique_ptr<shell> sh_;
};

cpumask affinity_of(pid_t pid) {
  cpumask m;
  EXPECT_EQ(sched_getaffinity(pid, &m), 0);
  return m;
}

TEST_F(cli, taskset_shows_and_sets_affinity_like_util_linux) {
  pid_t pid = spawn_hog("-c 0-3");
  std::string p = std::to_string(pid);
  EXPECT_EQ(run("taskset -p " + p), 0);
  EXPECT_EQ(out(), "pid " + p + "'s current affinity mask: f\n");
  EXPECT_EQ(run("taskset -pc 1,3 " + p), 0) << err();
  EXPECT_EQ(out(),
            "pid " + p + "'s current affinity list: 0-3\npid " + p + "'s new affinity list: 1,3\n");
  EXPECT_EQ(affinity_of(pid), cpumask::of(1) | cpumask::of(3));
  EXPECT_EQ(run("taskset -p 0x4 " + p), 0) << err();
  EXPECT_EQ(affinity_of(pid), cpumask::of(2));
}

TEST_F(cli, taskset_bad_lists_fail_and_change_nothing) {
  pid_t pid = spawn_hog("-c 0-3");
  std::string p = std::to_string(pid);
  for (const char* bad : {"1-", "a", "5-2", "4", "0-9", ",", "1,,2"}) {
    EXPECT_NE(run("taskset -pc " + std::string(bad) + " " + p), 0) << bad;
    EXPECT_EQ(err(), "taskset: failed to parse CPU list: " + std::string(bad) + "\n");
    EXPECT_EQ(out(), "") << bad;
    EXPECT_EQ(affinity_of(pid), cpumask::first_n(4)) << bad;
  }
  // As util-linux's getopt reads it, "-1" is an option.
  EXPECT_NE(run("taskset -pc -1 " + p), 0);
  EXPECT_EQ(err(), "taskset: invalid option -- '1'\nTry 'taskset --help' for more information.\n");
  for (const char* bad : {"g", "0x", "10"}) {
    EXPECT_NE(run("taskset -p " + std::string(bad) + " " + p), 0) << bad;
    EXPECT_EQ(err(), "taskset: failed to parse CPU mask: " + std::string(bad) + "\n");
    EXPECT_EQ(affinity_of(pid), cpumask::first_n(4)) << bad;
  }
}

TEST_F(cli, taskset_unknown_pid_and_bad_usage) {
  EXPECT_NE(run("taskset -p 99999"), 0);
  EXPECT_EQ(err(), "taskset: failed to get pid 99999's affinity: No such process\n");
  EXPECT_NE(run("taskset -pc 1 abc"), 0);
  EXPECT_EQ(err(), "taskset: invalid PID argument: 'abc'\n");
  EXPECT_NE(run("taskset"), 0);
  EXPECT_NE(err().find("taskset: bad usage"), std::string::npos);
}

TEST_F(cli, taskset_of_a_kernel_thread_is_refused) {
  pid_t stopper = -1;
  for (const task_info& t : task_list())
    if (t.comm == "migration/1") stopper = t.pid;
  ASSERT_GT(stopper, 0);
  EXPECT_NE(run("taskset -pc 0 " + std::to_string(stopper)), 0);
  EXPECT_EQ(err(), "taskset: failed to set pid " + std::to_string(stopper) +
                       "'s affinity: Invalid argument\n");
  EXPECT_EQ(affinity_of(stopper), cpumask::of(1));
}

TEST_F(cli, chrt_sets_policy_and_rejects_bad_priorities) {
  pid_t pid = spawn_hog("-c 0");
  std::string p = std::to_string(pid);
  EXPECT_NE(run("chrt -f -p 100 " + p), 0);
  EXPECT_EQ(sched_getscheduler(pid), SCHED_NORMAL) << "a failed chrt changed the policy";
  EXPECT_NE(run("chrt -f -p x " + p), 0);
  EXPECT_EQ(err(), "chrt: invalid priority argument: 'x'\n");
  EXPECT_EQ(run("chrt -r -p 10 " + p), 0) << err();
  EXPECT_EQ(sched_getscheduler(pid), SCHED_RR);
  EXPECT_EQ(run("chrt -p " + p), 0);
  EXPECT_NE(out().find("SCHED_RR"), std::string::npos) << out();
}

// Options as util-linux's getopt reads them: together (-cp, -fp), by long name, ended by "--" or
// the first word that is not one; a bad one gets the real tool's words and changes nothing.
TEST_F(cli, taskset_and_chrt_read_their_options_as_util_linux_does) {
  pid_t pid = spawn_hog("-c 0");
  std::string p = std::to_string(pid);
  EXPECT_EQ(run("taskset -cp 1-2 " + p), 0) << err();
  EXPECT_EQ(out(),
            "pid " + p + "'s current affinity list: 0\npid " + p + "'s new affinity list: 1,2\n");
  EXPECT_EQ(run("taskset --cpu-list --pid -a -- 3 " + p), 0) << err();
  EXPECT_EQ(affinity_of(pid), cpumask::of(3));
  EXPECT_EQ(run("chrt -fp 10 " + p), 0) << err();
  EXPECT_EQ(sched_getscheduler(pid), SCHED_FIFO);
  EXPECT_EQ(run("chrt --other --pid 0 " + p), 0) << err();
  EXPECT_EQ(sched_getscheduler(pid), SCHED_NORMAL);
  for (std::string bad : {"taskset -x -p 1 ", "taskset --bogus -p 1 ", "chrt -fz -p 10 ",
                          "chrt --fifo --bogus -p 10 "}) {
    EXPECT_EQ(run(bad + p), 1) << bad;
    std::string tool_name = bad.substr(0, bad.find(' '));
    EXPECT_EQ(err().rfind(tool_name + ": ", 0), 0u) << err();
    EXPECT_NE(err().find("\nTry '" + tool_name + " --help' for more information.\n"),
              std::string::npos)
        << err();
    // The real tool says the same of the same option (its pid: this process).
    if (have_program(tool_name)) {
      std::vector<std::string> argv;
      std::istringstream words(bad + std::to_string(::getpid()));
      for (std::string w; words >> w;) argv.push_back(w);
      EXPECT_EQ(err(), run_cmd(argv).err) << bad;
    }
  }
  EXPECT_EQ(affinity_of(pid), cpumask::of(3));
  EXPECT_EQ(sched_getscheduler(pid), SCHED_NORMAL);
  // After the first word that is not an option, none is read as one.
  EXPECT_EQ(run("taskset -p 1 -c " + p), 1);
  EXPECT_EQ(err(), "taskset: bad usage\nTry 'taskset --help' for more information.\n");
}

TEST_F(cli, sysfs_online_writes_follow_the_kernel) {
  EXPECT_EQ(run("cat /sys/devices/system/cpu/cpu3/online"), 0);
  EXPECT_EQ(out(), "1\n");
  EXPECT_NE(run("echo 2 > /sys/devices/system/cpu/cpu3/online"), 0);
  EXPECT_EQ(err(), "cpustop: write error: Invalid argument\n");
  EXPECT_TRUE(cpu_online(3));
  EXPECT_NE(run("echo 0 > /sys/devices/system/cpu/cpu9/online"), 0);
  EXPECT_EQ(err(), "cpustop: /sys/devices/system/cpu/cpu9/online: No such file or directory\n");
  EXPECT_EQ(run("echo 0 > /sys/devices/system/cpu/cpu3/online"), 0) << err();
  EXPECT_FALSE(cpu_online(3));
  EXPECT_EQ(run("cat /sys/devices/system/cpu/cpu3/online"), 0);
  EXPECT_EQ(out(), "0\n");
  EXPECT_EQ(run("echo 1 > /sys/devices/system/cpu/cpu3/online"), 0) << err();
  EXPECT_TRUE(cpu_online(3));
}

TEST_F(cli, unknown_commands_and_files) {
  EXPECT_EQ(run("frobnicate"), 127);
  EXPECT_EQ(err(), "cpustop: frobnicate: command not found\n");
  EXPECT_NE(run("cat /proc/99999/stat"), 0);
  EXPECT_EQ(err(), "cat: /proc/99999/stat: No such file or directory\n");
  EXPECT_NE(run("kill 99999"), 0);
  EXPECT_EQ(err(), "kill: (99999) - No such process\n");
}

}  // namespace
}  // namespace cpustop::test
