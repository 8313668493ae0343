// Large machines: more logical CPUs than the host has threads to pin (so none is pinned), a
// synthetic topology and its sched domains, and the stop and affinity paths at the high CPUs.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kernel/sched/topology.h"
#include "test_util.h"

namespace cpustop {
namespace {

using test::run_task;

// 256 CPUs: 2 per core, 16 cores per cache (32 CPUs), 4 caches per node (128 CPUs), 2 nodes.
class scale : public test::machine {
  void customize(boot_params& p) override { p.topology = "smt=2,llc=16,numa=4"; }
};
INSTANTIATE_TEST_SUITE_P(cpus, scale, ::testing::Values(256u), test::cpus_name);

TEST_P(scale, synthetic_topology_builds_every_level_with_shared_groups) {
  ASSERT_EQ(nr_cpu_ids(), 256u);
  EXPECT_EQ(cpu_online_mask_snapshot(), cpumask::first_n(256));
  struct level {
    const char* name;
    const char* span;
    unsigned nr_groups, group_weight;
  };
  const level want[] = {{"SMT", "76-77", 2, 1},
                        {"MC", "64-95", 16, 2},
                        {"PKG", "0-127", 4, 32},
                        {"NUMA", "0-255", 2, 128}};
  // Preemption off: the domains may only be read so (a rebuild frees the old ones after a
  // stop_machine), so the checks run in a task.
  EXPECT_EQ(run_task([&] {
              preempt_disable();
              const auto& d77 = cpu_sched_domains(77);
              const auto& d76 = cpu_sched_domains(76);
              const auto& d200 = cpu_sched_domains(200);
              int bad = d77.size() == 4 && d200.size() == 4 ? 0 : 100;
              for (unsigned l = 0; l < 4 && !bad; l++) {
                const sched_domain& sd = d77[l];
                if (sd.name != want[l].name || cpumask_to_cpulist(sd.span) != want[l].span ||
                    sd.groups.size() != want[l].nr_groups)
                  bad = 1 + static_cast<int>(l);
                // The groups partition the span.
                cpumask all;
                unsigned total = 0;
                for (const cpumask& g : sd.groups) {
                  if (g.weight() != want[l].group_weight || g.intersects(all)) bad = 10;
                  all = all | g;
                  total += g.weight();
                }
                if (all != sd.span || total != sd.span.weight()) bad = 20;
                // CPUs of one domain share its groups; another node has its own below the top.
                if (d76[l].groups.data() != sd.groups.data()) bad = 30;
                if ((l == 3) != (d200[l].groups.data() == sd.groups.data())) bad = 40;
              }
              preempt_enable();
              return bad;
            }),
            0);
  EXPECT_NE(sched_domains_text(255).find("SMT 254-255 MC 224-255 PKG 128-255 NUMA 0-255"),
            std::string::npos)
      << sched_domains_text(255);
}

TEST_P(scale, stop_machine_and_stop_two_cpus_reach_the_high_cpus) {
  auto hits = std::make_unique<std::atomic<int>[]>(256);
  cpumask all = cpumask::first_n(256);
  EXPECT_EQ(stop_machine(
                [&] {
                  hits[static_cast<unsigned>(smp_processor_id())]++;
                  return 0;
                },
                &all),
            0);
  for (unsigned c = 0; c < 256; c++) EXPECT_EQ(hits[c].load(), 1) << "cpu" << c;
  std::atomic<int> where{-1};
  EXPECT_EQ(run_task([&] {
              return stop_two_cpus(
                  255, 3,
                  [](void* arg) {
                    static_cast<std::atomic<int>*>(arg)->store(smp_processor_id());
                    return 7;
                  },
                  &where);
            }),
            7);
  EXPECT_EQ(where.load(), 255);  // fn runs on the first CPU given
}

TEST_P(scale, a_task_follows_its_affinity_to_the_last_cpu) {
  std::atomic<int> ran_on{-1};
  cpumask last = cpumask::of(255);
  EXPECT_EQ(run_task([&] { ran_on = smp_processor_id(); }, test::on_cpu(255)), 0);
  EXPECT_EQ(ran_on.load(), 255);
  std::atomic<bool> moved{false};
  std::atomic<int> now_on{-1};
  EXPECT_EQ(run_task(
                [&] {
                  pid_t self = getpid();
                  cpumask got;
                  if (sched_setaffinity(self, last) || sched_getaffinity(self, &got) || got != last)
                    return 1;
                  now_on = smp_processor_id();
                  moved = true;
                  return 0;
                },
                test::on_cpu(0)),
            0);
  EXPECT_TRUE(moved.load());
  EXPECT_EQ(now_on.load(), 255);
}

// Declared counts whose product does not fit in 32 bits are one cache and one node, not a
// division by zero.
class scale_topology_limits : public test::machine {
  void customize(boot_params& p) override { p.topology = "smt=4096,llc=4096,numa=4096"; }
};
INSTANTIATE_TEST_SUITE_P(cpus, scale_topology_limits, ::testing::Values(8u), test::cpus_name);

TEST_P(scale_topology_limits, huge_declared_counts_make_one_core) {
  EXPECT_EQ(sched_domains_text(3), "cpu3 domains: SMT 0-7");
}

}  // namespace
}  // namespace cpustop
