// Boot, initcall order, the two cpu_stop_init orders, halt, and bad boot input.
#include <regex>
#include <vector>

#include "kernel/percpu.h"
#include "test_util.h"

namespace cpustop {
namespace {

using test::kCpuCounts;

std::size_t pos_of(const std::string& log, const std::string& what) {
  std::size_t p = log.find(what);
  EXPECT_NE(p, std::string::npos) << "missing from the log: " << what;
  return p;
}

class boot_order : public ::testing::TestWithParam<unsigned> {};

TEST_P(boot_order, log_shows_the_seed_chain_in_order) {
  boot_params p;
  p.nr_cpus = GetParam();
  ASSERT_EQ(boot(p), 0);
  std::string log = dmesg();
  EXPECT_EQ(shutdown(), 0);
  std::vector<std::string> chain = {"start_kernel:",
                                    "rest_init: spawning",
                                    "kernel_init_freeable:",
                                    "do_pre_smp_initcalls:",
                                    "calling  cpu_stop_init @ 1",
                                    "initcall cpu_stop_init returned 0",
                                    "smp_init: bringing up",
                                    "do_basic_setup:",
                                    "Run init as init process"};
  std::size_t last = 0;
  for (const auto& step : chain) {
    std::size_t at = pos_of(log, step);
    EXPECT_GE(at, last) << step << " is out of order";
    last = at;
  }
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(^\[ {4}0\.\d{6}\] Booting cpustop)")))
      << log.substr(0, 80);
  EXPECT_NE(log.find("smp: Brought up 1 node, " + std::to_string(GetParam()) + " CPUs"),
            std::string::npos);
}

TEST_P(boot_order, initcalls_run_level_by_level_early_before_smp) {
  std::vector<std::string> seen;
  unsigned early_online = 0;
  boot_params p;
  p.nr_cpus = GetParam();
  // Registered in scrambled order; must run in the kernel's level order.
  for (auto level : {initcall_level::late, initcall_level::core, initcall_level::device_sync,
                     initcall_level::early, initcall_level::subsys, initcall_level::pure,
                     initcall_level::fs, initcall_level::postcore, initcall_level::arch}) {
    p.initcalls.push_back({level, std::string("test_") + initcall_level_name(level), [&, level] {
                             if (level == initcall_level::early) early_online = num_online_cpus();
                             seen.push_back(initcall_level_name(level));
                             return 0;
                           }});
  }
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(shutdown(), 0);
  std::vector<std::string> want = {"early",  "pure", "core",        "postcore", "arch",
                                   "subsys", "fs",   "device_sync", "late"};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(early_online, 1u) << "early initcalls run before smp_init in the Linux order";
}

TEST_P(boot_order, lego_order_initialises_the_stopper_after_smp_and_unparks_by_hand) {
  unsigned early_online = 0;
  boot_params p;
  p.nr_cpus = GetParam();
  p.stop_init = stop_init_order::lego_order;
  p.initcalls.push_back({initcall_level::early, "test_early", [&] {
                           early_online = num_online_cpus();
                           return 0;
                         }});
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(early_online, GetParam()) << "LegoOS brings every CPU up before kernel_init";
  std::string log = dmesg();
  EXPECT_GT(pos_of(log, "calling  cpu_stop_init"), pos_of(log, "smp: Brought up"));
  EXPECT_LT(pos_of(log, "smp: Brought up"), pos_of(log, "rest_init: spawning"));
  // Every CPU's stopper takes work.
  for (unsigned cpu = 0; cpu < GetParam(); cpu++) {
    int ran_on = -1;
    EXPECT_EQ(stop_one_cpu(cpu, [&] { ran_on = smp_processor_id(); }), 0);
    EXPECT_EQ(ran_on, static_cast<int>(cpu));
  }
  int stoppers = 0;
  for (const task_info& t : task_list())
    if (t.comm.rfind("migration/", 0) == 0) stoppers++;
  EXPECT_EQ(stoppers, static_cast<int>(GetParam()));
  EXPECT_EQ(shutdown(), 0);
}

INSTANTIATE_TEST_SUITE_P(cpus, boot_order, ::testing::ValuesIn(kCpuCounts), test::cpus_name);

TEST(boot, stop_machine_before_the_stopper_exists_runs_inline_with_interrupts_off) {
  int result = 0;
  bool irqs_were_off = false;
  int on_cpu = -1;
  boot_params p;
  p.nr_cpus = 1;
  p.stop_init = stop_init_order::lego_order;  // early initcalls run before cpu_stop_init
  p.initcalls.push_back({initcall_level::early, "early_stop_machine", [&] {
                           result = stop_machine([&] {
                             irqs_were_off = irqs_disabled();
                             on_cpu = smp_processor_id();
                             return 42;
                           });
                           return 0;
                         }});
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(shutdown(), 0);
  EXPECT_EQ(result, 42);
  EXPECT_TRUE(irqs_were_off);
  EXPECT_EQ(on_cpu, 0);
}

TEST(boot, per_cpu_threads_exist_on_every_cpu) {
  boot_params p;
  p.nr_cpus = 4;
  ASSERT_EQ(boot(p), 0);
  std::vector<std::string> names;
  for (const task_info& t : task_list()) names.push_back(t.comm);
  for (unsigned c = 0; c < 4; c++) {
    for (const std::string& n :
         {"cpuhp/" + std::to_string(c), "migration/" + std::to_string(c),
          "ksoftirqd/" + std::to_string(c), "kworker/" + std::to_string(c) + ":0"})
      EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  task_info init;
  ASSERT_EQ(task_get_info(1, &init), 0);
  EXPECT_EQ(init.comm, "init");
  task_info kthreadd;
  ASSERT_EQ(task_get_info(2, &kthreadd), 0);
  EXPECT_EQ(kthreadd.comm, "kthreadd");
  EXPECT_TRUE(kthreadd.kthread);
  EXPECT_EQ(shutdown(), 0);
}

TEST(boot, repeats_cleanly_a_hundred_times) {
  for (int i = 0; i < 100; i++) {
    boot_params p;
    p.nr_cpus = 4;
    ASSERT_EQ(boot(p), 0) << "round " << i;
    int code = -1;
    pid_t pid = spawn("round", [i] { return i; });
    ASSERT_GT(pid, 0);
    ASSERT_EQ(join(pid, &code), 0);
    EXPECT_EQ(code, i);
    ASSERT_EQ(shutdown(), 0) << "round " << i;
  }
}

TEST(boot, refuses_bad_parameters_and_double_boot) {
  boot_params p;
  p.nr_cpus = NR_CPUS + 1;
  EXPECT_EQ(boot(p), -EINVAL);
  p.nr_cpus = 2;
  p.hz = 50;
  EXPECT_EQ(boot(p), -EINVAL);
  p.hz = 1000;
  p.topology = "smt=two";
  EXPECT_EQ(boot(p), -EINVAL);
  EXPECT_FALSE(booted());
  EXPECT_EQ(shutdown(), -ENODEV);
  p.topology.clear();
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(boot(p), -EBUSY);
  int in_task = 0;
  pid_t pid = spawn("booter", [&] { in_task = boot(boot_params{}); });
  ASSERT_GT(pid, 0);
  ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_EQ(in_task, -EPERM);
  EXPECT_EQ(shutdown(), 0);
}

TEST(boot, shutdown_waits_for_user_tasks) {
  boot_params p;
  p.nr_cpus = 2;
  ASSERT_EQ(boot(p), 0);
  std::atomic<bool> stop{false};
  pid_t pid = spawn("lingering", [&] {
    while (!stop.load()) msleep(1);
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(shutdown(), -EBUSY);
  EXPECT_NE(dmesg().find("is still alive"), std::string::npos);
  stop = true;
  ASSERT_EQ(join(pid, nullptr), 0);
  // A zombie nobody joined does not block shutdown.
  pid_t zombie = spawn("zombie", [] { return 3; });
  ASSERT_GT(zombie, 0);
  task_info ti;
  while (task_get_info(zombie, &ti) == 0 && ti.state != 'Z') cpustop::test::spin_for_ns(100000);
  EXPECT_EQ(shutdown(), 0);
}

}  // namespace
}  // namespace cpustop
