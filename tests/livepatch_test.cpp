// Live patching: atomic switches under load, refusal while a task is inside, bad input.
#include <thread>

#include "livepatch_server.h"
#include "test_util.h"

namespace cpustop {
namespace {

class livepatch : public test::machine {};
INSTANTIATE_TEST_SUITE_P(cpus, livepatch, ::testing::Values(2u, 8u), test::cpus_name);

TEST_P(livepatch, ten_thousand_switches_under_load_never_tear_a_request) {
  std::atomic<bool> stop{false};
  std::atomic<long> served{0}, mixed{0}, v1{0}, v2{0};
  std::vector<pid_t> servers;
  for (unsigned i = 0; i < 2 * ncpus(); i++)
    servers.push_back(spawn("server", [&, i] {
      for (int x = static_cast<int>(i); !stop.load(std::memory_order_relaxed); x++) {
        int v = lp_example::handle(x & 0xffff);
        if (v == 0) mixed++;
        (v == 1 ? v1 : v2)++;
        served++;
        cond_resched();
      }
    }));
  klp_patch patch = lp_example::make_patch();
  unsigned long refused = 0;
  // 10,000 on CPUs that fit the hardware; an oversubscribed machine (every switch waits for the
  // host to run all of its CPU threads) does fewer.
  const int switches = ncpus() <= std::thread::hardware_concurrency() ? 10000 : 200;
  for (int s = 0; s < switches; s++) {
    ASSERT_EQ(s % 2 == 0 ? klp_enable_patch(&patch) : klp_disable_patch(&patch), 0)
        << "switch " << s;
    refused += patch.refused;
    EXPECT_EQ(patch.enabled, s % 2 == 0);
  }
  stop = true;
  for (pid_t pid : servers) ASSERT_EQ(join(pid, nullptr), 0);
  std::printf("livepatch: %d switches, %lu retries, %ld requests (%ld old, %ld new)\n", switches,
              refused, served.load(), v1.load(), v2.load());
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(v1.load(), 0);
  EXPECT_GT(v2.load(), 0);
  EXPECT_EQ(lp_example::parse(1), 2) << "back to the original";
}

TEST_P(livepatch, waits_while_a_task_is_inside_a_patched_function) {
  static std::atomic<bool> inside{false}, release{false};
  inside = release = false;
  static klp_func<int(int)> slow{"slow", [](int x) {
                                   inside = true;
                                   while (!release) msleep(1);  // sleeping inside
                                   return x;
                                 }};
  klp_patch patch{{klp_func_change(
      slow, +[](int x) { return -x; })}};
  pid_t pid = spawn("caller", [] { return slow(7); });
  while (!inside) std::this_thread::yield();
  EXPECT_EQ(klp_enable_patch(&patch, 30), -EBUSY) << "a task stays inside";
  EXPECT_GE(patch.refused.load(), 1u);
  EXPECT_FALSE(patch.enabled);
  EXPECT_NE(dmesg().find("livepatch: enable failed"), std::string::npos);
  // With time to spare it retries until the task has left: released after two refusals.
  int enabled = -1;
  patch.refused = 0;
  std::thread enabler([&] { enabled = klp_enable_patch(&patch, 600000); });
  ASSERT_TRUE(test::wait_until([&] { return patch.refused.load() >= 2; }));
  EXPECT_FALSE(patch.enabled);
  release = true;
  enabler.join();
  int code = 0;
  ASSERT_EQ(join(pid, &code), 0);
  EXPECT_EQ(code, 7) << "it finished in the old version";
  EXPECT_EQ(enabled, 0);
  EXPECT_GT(patch.refused.load(), 1u);
  EXPECT_EQ(slow(7), -7);
  EXPECT_EQ(klp_enable_patch(&patch), -EINVAL) << "already enabled";
  klp_patch other{{klp_func_change(
      slow, +[](int x) { return x * 10; })}};
  EXPECT_EQ(klp_enable_patch(&other), -EINVAL) << "patched by another patch";
  EXPECT_EQ(klp_disable_patch(&patch), 0);
  EXPECT_EQ(klp_disable_patch(&patch), -EINVAL);
  EXPECT_EQ(slow(7), 7);
}

}  // namespace
}  // namespace cpustop
