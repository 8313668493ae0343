// The scenarios of `cpustop sim`, each a workload of kernel-spec.md's stress tests driven through
// the public API, with the checks a caller can make: return codes, where functions ran, and
// that each stop work ran exactly once or its caller got -ENOENT.
#include <atomic>
#include <cerrno>
#include <memory>

#include "cpustop/boot.h"
#include "cpustop/cpu.h"
#include "cpustop/livepatch.h"
#include "cpustop/proc.h"
#include "cpustop/sched.h"
#include "cpustop/sim.h"
#include "cpustop/stop_machine.h"
#include "scenario.h"

namespace cpustop::sim_scenarios {

void check(bool cond, const std::string& what) {
  if (!cond) cpustop::sim::fail("scenario check failed: " + what);
}

namespace {

void join_all(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) {
    check(p > 0, "spawn returned " + std::to_string(p));
    int code = 0;
    check(join(p, &code) == 0, "join " + std::to_string(p));
    check(code == 0, "task " + std::to_string(p) + " exited with " + std::to_string(code));
  }
}

task_attr on_cpu(unsigned cpu) {
  task_attr a;
  a.cpus = cpumask::of(cpu);
  return a;
}

// ---- stop_machine ---------------------------------------------------------------------------

struct machine_stop {
  std::atomic<int> inside{0};
  std::atomic<int> runs{0};
};

int machine_stop_fn(void* arg) {
  auto* s = static_cast<machine_stop*>(arg);
  check(s->inside.fetch_add(1) == 0, "two stop_machine functions ran at once");
  s->runs.fetch_add(1);
  s->inside.fetch_sub(1);
  return 0;
}

// stop_machine from the host and from tasks on several CPUs at once, all serialised.
void run_stop_machine_callers(scenario_context& ctx, unsigned callers, unsigned rounds,
                              bool hotplug) {
  auto s = std::make_shared<machine_stop>();
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < callers; i++)
    pids.push_back(spawn(
        "sm_caller",
        [s, rounds] {
          for (unsigned r = 0; r < rounds; r++) {
            check(stop_machine(machine_stop_fn, s.get(), nullptr) == 0, "stop_machine from a task");
            sched_yield();
          }
        },
        hotplug ? task_attr{} : on_cpu(ctx.pick_cpu())));
  check(stop_machine(machine_stop_fn, s.get(), nullptr) == 0, "stop_machine from the host");
  join_all(pids);
  check(s->runs.load() == static_cast<int>(callers * rounds + 1),
        "stop_machine ran its function " + std::to_string(s->runs.load()) + " times");
}

void scenario_stop_machine(scenario_context& ctx) {
  run_stop_machine_callers(ctx, 2, 2, false);
}

// ---- stop_two_cpus_ring ---------------------------------------------------------------------

struct pair_stop {
  unsigned cpu1, cpu2;
  bool hotplug;  // CPUs may go down meanwhile
  std::atomic<int> runs{0};
  int done = 0;  // calls that returned 0
};

int pair_stop_fn(void* arg) {
  auto* p = static_cast<pair_stop*>(arg);
  int cpu = smp_processor_id();
  check(cpu == static_cast<int>(p->cpu1) || cpu == static_cast<int>(p->cpu2),
        "stop_two_cpus function ran on cpu" + std::to_string(cpu));
  p->runs.fetch_add(1);
  return 0;
}

// Pairs {a,b} {b,c} {c,a} around rings of three (kernel-spec §10a: b17718d02f54), each pair
// stopped concurrently from a task on one of its CPUs, several times.
void run_pair_rings(scenario_context& ctx, bool hotplug) {
  unsigned rings = std::max(1u, std::min(ctx.cpus / 3, 8u));
  constexpr unsigned rounds = 3;
  std::vector<std::shared_ptr<pair_stop>> pairs;
  std::vector<pid_t> pids;
  for (unsigned r = 0; r < rings; r++) {
    unsigned a = ctx.pick_cpu(), b = ctx.pick_cpu(), c = ctx.pick_cpu();
    if (ctx.cpus >= 3)
      while (b == a) b = ctx.pick_cpu();
    if (ctx.cpus >= 3)
      while (c == a || c == b) c = ctx.pick_cpu();
    for (auto [x, y] : {std::pair{a, b}, {b, c}, {c, a}}) {
      if (x == y) continue;
      auto p = std::make_shared<pair_stop>();
      p->cpu1 = x;
      p->cpu2 = y;
      p->hotplug = hotplug;
      pairs.push_back(p);
      pids.push_back(spawn(
          "pair_caller",
          [p] {
            for (unsigned i = 0; i < rounds; i++) {
              int before = p->runs.load();
              int err = stop_two_cpus(p->cpu1, p->cpu2, pair_stop_fn, p.get());
              std::string call = "stop_two_cpus(" + std::to_string(p->cpu1) + "," +
                                 std::to_string(p->cpu2) + ") = " + std::to_string(err);
              // -ENOENT: a CPU of the pair was going down (mixed runs hotplug); nothing ran.
              check(err == 0 || (err == -ENOENT && p->hotplug), call);
              check(p->runs.load() == before + (err == 0),
                    call + " but its function ran " + std::to_string(p->runs.load() - before) +
                        " times");
              if (err == 0) p->done++;
              sched_yield();
            }
          },
          hotplug ? task_attr{} : on_cpu(x)));
    }
  }
  // §10b: stop_machine storms mixed with the pairs.
  run_stop_machine_callers(ctx, 1, 2, hotplug);
  join_all(pids);
  for (auto& p : pairs) check(p->runs.load() == p->done, "pair runs");
}

void scenario_stop_two_cpus_ring(scenario_context& ctx) {
  run_pair_rings(ctx, false);
}

// ---- affinity_storm -------------------------------------------------------------------------

cpumask random_mask(scenario_context& ctx) {
  cpumask m;
  unsigned n = 1 + static_cast<unsigned>(ctx.rng() % std::min(ctx.cpus, 8u));
  for (unsigned i = 0; i < n; i++) m.set(ctx.pick_cpu());
  return m;
}

// 0, or -EINVAL when hotplug took every CPU of the mask away (which may have come back by the
// time we look); anything else fails the run.
bool setaffinity_ok(int err) {
  check(err == 0 || err == -EINVAL, "sched_setaffinity = " + std::to_string(err));
  return err == 0;
}

// Workers set their own masks and check where they run; stormers re-pin other victims.
void run_affinity_storm(scenario_context& ctx, unsigned workers, unsigned rounds) {
  std::vector<pid_t> pids;
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::vector<pid_t> victims;
  for (unsigned i = 0; i < workers; i++)
    victims.push_back(spawn("victim", [stop] {
      while (!stop->load()) sched_yield();
    }));
  for (unsigned i = 0; i < workers; i++) {
    std::vector<cpumask> masks;
    for (unsigned r = 0; r < rounds; r++) masks.push_back(random_mask(ctx));
    pids.push_back(spawn("worker", [masks] {
      for (const cpumask& m : masks) {
        if (!setaffinity_ok(sched_setaffinity(getpid(), m))) continue;
        int cpu = smp_processor_id();
        // Unless hotplug took a CPU of the mask away meanwhile (select_fallback_rq may then
        // widen the task's affinity, "no longer affine to cpuN").
        cpumask now;
        bool lost_cpu = sched_getaffinity(getpid(), &now) == 0 && !(now == m);
        check(m.test(static_cast<unsigned>(cpu)) || lost_cpu,
              "task runs on cpu" + std::to_string(cpu) + " outside the mask it set");
        sched_yield();
      }
    }));
  }
  for (unsigned r = 0; r < rounds * workers; r++) {
    pid_t v = victims[ctx.rng() % victims.size()];
    cpumask m = random_mask(ctx);
    setaffinity_ok(sched_setaffinity(v, m));
  }
  join_all(pids);
  stop->store(true);
  join_all(victims);
}

void scenario_affinity_storm(scenario_context& ctx) {
  run_affinity_storm(ctx, std::min(ctx.cpus, 8u), 4);
}

// ---- hotplug_torture ------------------------------------------------------------------------

struct one_stop {
  int target;
  std::atomic<int> ran_on{-1};
  std::atomic<int> runs{0};
};

int one_stop_fn(void* arg) {
  auto* s = static_cast<one_stop*>(arg);
  s->ran_on.store(smp_processor_id());
  s->runs.fetch_add(1);
  return 0;
}

// cpu's four per-CPU threads are parked exactly while it is offline: cpu_down() returns once
// they are in TASK_PARKED, cpu_up() once they have left it.
void check_parking(unsigned cpu, bool online) {
  std::string c = std::to_string(cpu);
  int seen = 0;
  for (const task_info& t : task_list()) {
    if (t.comm != "cpuhp/" + c && t.comm != "migration/" + c && t.comm != "ksoftirqd/" + c &&
        t.comm != "kworker/" + c + ":0")
      continue;
    seen++;
    check((t.state == 'P') != online,
          t.comm + " is " + t.state + " after cpu_" + (online ? "up" : "down"));
  }
  check(seen == 4, std::to_string(seen) + " per-CPU threads of cpu" + c);
}

// torture_onoff: CPUs go down and up while stop_one_cpu and stop_machine run at them. Each
// stop_one_cpu either ran its function exactly once, on its CPU, or returned -ENOENT; each
// CPU's per-CPU threads are parked exactly while it is offline.
void run_hotplug_torture(scenario_context& ctx, unsigned toggles) {
  if (ctx.cpus < 2) return;
  std::vector<unsigned> victims;
  for (unsigned i = 0; i < toggles; i++) victims.push_back(ctx.pick_cpu(1));
  pid_t onoff = spawn("torture_onoff", [victims] {
    for (unsigned c : victims) {
      int err = cpu_down(c);
      check(err == 0 || err == -EBUSY,
            "cpu_down(" + std::to_string(c) + ") = " + std::to_string(err));
      if (err == 0) check_parking(c, false);
      sched_yield();
      if (!cpu_online(static_cast<int>(c))) {
        check(cpu_up(c) == 0, "cpu_up(" + std::to_string(c) + ")");
        check_parking(c, true);
        // 45178ac0cea8: once cpu_up() returned, the CPU's stopper takes work.
        one_stop s;
        s.target = static_cast<int>(c);
        int err = stop_one_cpu(c, one_stop_fn, &s);
        check(err == 0 && s.runs.load() == 1, "stop_one_cpu(" + std::to_string(c) +
                                                  ") right after cpu_up = " + std::to_string(err) +
                                                  ", its function ran " +
                                                  std::to_string(s.runs.load()) + " times");
      }
    }
  });
  std::vector<unsigned> targets;
  for (unsigned i = 0; i < 2 * toggles; i++) targets.push_back(ctx.pick_cpu());
  pid_t stopper = spawn("stop_one", [targets] {
    for (unsigned c : targets) {
      one_stop s;
      s.target = static_cast<int>(c);
      int err = stop_one_cpu(c, one_stop_fn, &s);
      if (err == 0)
        check(s.runs.load() == 1 && s.ran_on.load() == static_cast<int>(c),
              "stop_one_cpu(" + std::to_string(c) + ") returned 0 but its function ran " +
                  std::to_string(s.runs.load()) + " times, last on cpu" +
                  std::to_string(s.ran_on.load()));
      else
        check(err == -ENOENT && s.runs.load() == 0, "stop_one_cpu(" + std::to_string(c) +
                                                        ") = " + std::to_string(err) + " after " +
                                                        std::to_string(s.runs.load()) + " runs");
      sched_yield();
    }
  });
  run_stop_machine_callers(ctx, 1, 2, true);
  join_all({onoff, stopper});
  for (unsigned c = 0; c < ctx.cpus; c++)
    check(cpu_online(static_cast<int>(c)), "cpu" + std::to_string(c) + " left offline");
}

void scenario_hotplug_torture(scenario_context& ctx) {
  run_hotplug_torture(ctx, 4);
}

// ---- balance --------------------------------------------------------------------------------

// Hogs all start on CPU 0, then may run anywhere: the load balancer must spread them.
void scenario_balance(scenario_context& ctx) {
  unsigned hogs = std::min(ctx.cpus, 8u);
  if (hogs < 2) return;
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto seen = std::make_shared<std::vector<std::atomic<bool>>>(ctx.cpus);
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < hogs; i++)
    pids.push_back(spawn(
        "hog",
        [stop, seen] {
          check(sched_setaffinity(getpid(), cpumask::first_n(nr_cpu_ids())) == 0,
                "widen the hog's mask");
          while (!stop->load()) {
            (*seen)[static_cast<unsigned>(smp_processor_id())].store(true);
            cpustop::sim::cpu_work(20'000);
            cond_resched();
          }
        },
        on_cpu(0)));
  pid_t timer = spawn("timer", [stop] {
    msleep(20);
    stop->store(true);
  });
  join_all(pids);
  join_all({timer});
  unsigned used = 0;
  for (auto& s : *seen) used += s.load();
  check(used >= hogs / 2, std::to_string(hogs) + " hogs started on cpu0 ran on only " +
                              std::to_string(used) + " CPUs after 20 ms");
}

// ---- livepatch ------------------------------------------------------------------------------

int lp_v1(int x) {
  return x + 1;
}
int lp_v2(int x) {
  return x + 2;
}
klp_func<int(int)> lp_func{"sim_lp_func", lp_v1};

void run_livepatch(scenario_context& ctx, unsigned switches) {
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < std::min(ctx.cpus, 4u); i++)
    pids.push_back(spawn("lp_caller", [stop] {
      for (int x = 0; !stop->load(); x++) {
        int d = lp_func(x) - x;
        check(d == 1 || d == 2, "a patched call returned neither version");
        sched_yield();
      }
    }));
  klp_patch patch{{klp_func_change(lp_func, lp_v2)}};
  for (unsigned s = 0; s < switches; s++) {
    int err = s % 2 == 0 ? klp_enable_patch(&patch) : klp_disable_patch(&patch);
    check(err == 0, "klp switch " + std::to_string(s) + " = " + std::to_string(err));
    check(lp_func(0) == (s % 2 == 0 ? 2 : 1), "the patch state after switch " + std::to_string(s));
  }
  if (patch.enabled) check(klp_disable_patch(&patch) == 0, "final klp_disable_patch");
  stop->store(true);
  join_all(pids);
}

void scenario_livepatch(scenario_context& ctx) {
  run_livepatch(ctx, 6);
}

// ---- mixed ----------------------------------------------------------------------------------

// Everything at once: hotplug, pair stops, affinity storms, live patching and stop_machine.
void scenario_mixed(scenario_context& ctx) {
  auto seed = ctx.rng();
  pid_t pairs = spawn("mixed_pairs", [&ctx, seed] {
    scenario_context c{ctx.cpus, seed, std::mt19937_64(seed)};
    run_pair_rings(c, true);
  });
  pid_t storm = spawn("mixed_storm", [&ctx, seed] {
    scenario_context c{ctx.cpus, seed + 1, std::mt19937_64(seed + 1)};
    run_affinity_storm(c, std::min(ctx.cpus, 4u), 3);
  });
  pid_t lp = spawn("mixed_lp", [&ctx, seed] {
    scenario_context c{ctx.cpus, seed + 2, std::mt19937_64(seed + 2)};
    run_livepatch(c, 2);
  });
  run_hotplug_torture(ctx, 3);
  join_all({pairs, storm, lp});
}

}  // namespace

const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all = {
      {"stop_machine", "stop_machine from the host and from tasks, serialised",
       scenario_stop_machine},
      {"stop_two_cpus_ring", "concurrent stop_two_cpus around 3-cycles of CPUs",
       scenario_stop_two_cpus_ring},
      {"affinity_storm", "sched_setaffinity storms; tasks check where they run",
       scenario_affinity_storm},
      {"hotplug_torture", "cpu_down/cpu_up under stop_one_cpu and stop_machine",
       scenario_hotplug_torture},
      {"balance", "hogs started on cpu0 are spread by the load balancer", scenario_balance},
      {"livepatch", "klp_enable_patch/klp_disable_patch under callers", scenario_livepatch},
      {"mixed", "all of the above at once", scenario_mixed},
  };
  return all;
}

}  // namespace cpustop::sim_scenarios
