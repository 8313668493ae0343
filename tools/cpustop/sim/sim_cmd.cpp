// `cpustop sim`: runs a scenario on the simulator once per seed. Each run is a child process (a
// fresh machine, and a crash or a hang is a result rather than the end of the command), which
// reports its scheduling points, virtual time and digest to the parent through a pipe.
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "commands.h"
#include "cpustop/boot.h"
#include "cpustop/cpumask.h"
#include "cpustop/sim.h"
#include "cpustop/trace.h"
#include "scenario.h"

namespace cpustop::tool {

namespace {

struct sim_options {
  unsigned cpus = 64;
  std::uint64_t seed = 1;
  std::string strategy = "random";
  unsigned pct_depth = 3;
  std::uint64_t skew_ns = sim::config{}.skew_ns;
  unsigned stall_ppm = sim::config{}.stall_ppm;
  std::uint64_t runs = 1;
  bool check_determinism = false;
  std::string trace_file;
  std::string topology;  // default: synthetic_topology(cpus)
  std::string preempt = "voluntary";
  unsigned host_timeout_s = 600;
  std::vector<std::string> faults;  // sim::fault_names
  bool expect_failure = false;
  bool in_process = false;  // one run in this process (for a debugger), raw result on stdout
  std::string scenario;
};

struct run_result {
  bool ok = false;
  std::uint64_t events = 0, virtual_ns = 0, digest = 0;
  std::string why, tail;
};

int result_fd = -1;

// The pointer values printed by %p differ between processes under ASLR: mask them before hashing.
std::string without_addresses(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i + 2;
    if (s.compare(i, 2, "0x") == 0) {
      while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) j++;
      if (j - i - 2 >= 6) {
        out += "0x?";
        i = j;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t n = s.size();
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void report(bool ok, const std::string& why, const std::string& tail) {
  sim::stats st = sim::current_stats();
  write_all(result_fd, fmt::format("{} {} {} {:016x}\n{}\n{}", ok ? "ok" : "FAIL", st.points,
                                   st.virtual_ns, st.digest, why, tail));
}

[[noreturn]] void on_failure(const std::string& why, const std::string& tail) {
  report(false, why, tail);
  _exit(3);
}

// A machine with SMT pairs, 16 cores per last-level cache and 4 caches per node, cut down for
// small machines so that every level still exists.
std::string synthetic_topology(unsigned cpus) {
  unsigned smt = cpus >= 2 ? 2 : 1;
  unsigned llc = std::max(1u, std::min(16u, cpus / smt));
  unsigned numa = std::max(1u, std::min(4u, cpus / (smt * llc)));
  return fmt::format("smt={},llc={},numa={}", smt, llc, numa);
}

[[noreturn]] void child_run(const sim_options& o, const sim_scenarios::scenario& sc,
                            std::uint64_t seed, bool write_trace) {
  sim::config c;
  c.cpus = o.cpus;
  c.seed = seed;
  c.strategy = o.strategy == "pct" ? sim::strategy::pct : sim::strategy::random;
  c.pct_depth = o.pct_depth;
  c.skew_ns = o.skew_ns;
  c.stall_ppm = o.stall_ppm;
  for (const std::string& f : o.faults)
    for (unsigned i = 0; i < static_cast<unsigned>(sim::fault::NR); i++)
      if (f == sim::fault_names[i]) c.faults |= 1ull << i;
  if (int err = sim::configure(c)) {
    report(false, fmt::format("sim::configure failed: {}", err), "");
    _exit(3);
  }
  sim::set_failure_handler(on_failure);
  trace_event_enable("all");
  trace_set_buffer_size_kb(256);  // per CPU; the default 1024 costs 256 MB at 256 CPUs
  boot_params p;
  p.nr_cpus = o.cpus;
  p.pin = false;
  p.topology = o.topology.empty() ? synthetic_topology(o.cpus) : o.topology;
  p.preempt = o.preempt == "none"   ? preempt_model::none
              : o.preempt == "full" ? preempt_model::full
                                    : preempt_model::voluntary;
  if (int err = boot(p)) sim::fail(fmt::format("boot failed: {}", err));
  sim_scenarios::scenario_context ctx{o.cpus, seed, std::mt19937_64(seed)};
  sc.run(ctx);
  std::string trace = trace_text();
  if (int err = shutdown()) sim::fail(fmt::format("shutdown failed: {}", err));
  if (write_trace) std::ofstream(o.trace_file) << trace;
  std::string log = without_addresses(dmesg());
  sim::digest_add(log.data(), log.size());
  trace = without_addresses(trace);
  sim::digest_add(trace.data(), trace.size());
  report(true, "", "");
  _exit(0);
}

run_result run_one(const sim_options& o, const sim_scenarios::scenario& sc, std::uint64_t seed,
                   bool write_trace) {
  run_result r;
  int fds[2];
  if (pipe(fds) != 0) {
    r.why = "pipe failed";
    return r;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    result_fd = fds[1];
    child_run(o, sc, seed, write_trace);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    r.why = "fork failed";
    return r;
  }
  std::string out;
  char buf[4096];
  bool timed_out = false;
  for (;;) {
    pollfd pfd{fds[0], POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(o.host_timeout_s * 1000));
    if (n == 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (n < 0) continue;
    ssize_t got = read(fds[0], buf, sizeof(buf));
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  char verdict[8] = {};
  unsigned long long ev = 0, vns = 0, dig = 0;
  std::size_t nl = out.find('\n');
  if (nl != std::string::npos &&
      std::sscanf(out.c_str(), "%7s %llu %llu %llx", verdict, &ev, &vns, &dig) == 4) {
    r.events = ev;
    r.virtual_ns = vns;
    r.digest = dig;
    std::size_t nl2 = out.find('\n', nl + 1);
    r.why = out.substr(nl + 1, nl2 == std::string::npos ? std::string::npos : nl2 - nl - 1);
    if (nl2 != std::string::npos) r.tail = out.substr(nl2 + 1);
    r.ok = std::strcmp(verdict, "ok") == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
  }
  if (timed_out)
    r.why = fmt::format("hang: no result after {} s of host time", o.host_timeout_s);
  else if (WIFSIGNALED(status))
    r.why = fmt::format("crashed: {}", strsignal(WTERMSIG(status)));
  else
    r.why = fmt::format("exited {} without a result", WEXITSTATUS(status));
  return r;
}

int cmd_sim(const sim_options& o) {
  const sim_scenarios::scenario* sc = nullptr;
  for (const auto& s : sim_scenarios::scenarios())
    if (o.scenario == s.name) sc = &s;
  if (o.scenario == "list" || !sc) {
    if (!sc && o.scenario != "list")
      fmt::print(stderr, "cpustop: sim: unknown scenario '{}'\n", o.scenario);
    for (const auto& s : sim_scenarios::scenarios())
      fmt::print("{:<20} {}\n", s.name, s.description);
    return sc || o.scenario == "list" ? 0 : 1;
  }
  if (o.cpus == 0 || o.cpus > NR_CPUS) {
    fmt::print(stderr, "cpustop: sim: --cpus must be 1..{}\n", NR_CPUS);
    return 1;
  }
  for (const std::string& f : o.faults)
    if (std::find(std::begin(sim::fault_names), std::end(sim::fault_names), f) ==
        std::end(sim::fault_names)) {
      fmt::print(stderr, "cpustop: sim: unknown fault '{}' (known:", f);
      for (const char* n : sim::fault_names) fmt::print(stderr, " {}", n);
      fmt::print(stderr, ")\n");
      return 1;
    }
  std::string fault_names;
  for (const std::string& f : o.faults) fault_names += (fault_names.empty() ? "" : ",") + f;
  if (o.in_process) {
    result_fd = STDOUT_FILENO;
    child_run(o, *sc, o.seed, !o.trace_file.empty());
  }
  std::uint64_t failed = 0;
  for (std::uint64_t i = 0; i < o.runs; i++) {
    std::uint64_t seed = o.seed + i;
    run_result r = run_one(o, *sc, seed, i == 0 && !o.trace_file.empty());
    if (r.ok && o.check_determinism) {
      run_result again = run_one(o, *sc, seed, false);
      if (!again.ok || again.events != r.events || again.virtual_ns != r.virtual_ns ||
          again.digest != r.digest) {
        r.ok = false;
        r.why = fmt::format(
            "nondeterministic: the second run gave events={} virtual_ns={} digest={:016x}{}",
            again.events, again.virtual_ns, again.digest, again.ok ? "" : " (" + again.why + ")");
      }
    }
    std::string line = fmt::format(
        "sim: scenario={} cpus={} seed={} strategy={} events={} virtual_ns={} digest={:016x} "
        "result={}",
        sc->name, o.cpus, seed, o.strategy, r.events, r.virtual_ns, r.digest, r.ok ? "ok" : "FAIL");
    if (!r.ok) {
      failed++;
      if (!r.tail.empty()) fmt::print("schedule tail (seed {}):\n{}", seed, r.tail);
      std::string faults;
      for (const std::string& f : o.faults) faults += " --fault " + f;
      if (o.skew_ns != sim::config{}.skew_ns) faults += fmt::format(" --skew-ns {}", o.skew_ns);
      if (o.stall_ppm != sim::config{}.stall_ppm)
        faults += fmt::format(" --stall-ppm {}", o.stall_ppm);
      if (o.pct_depth != 3) faults += fmt::format(" --pct-depth {}", o.pct_depth);
      if (o.preempt != "voluntary") faults += " --preempt " + o.preempt;
      line += fmt::format(
          " invariant=\"{}\" replay=\"cpustop sim --cpus {} --seed {} --strategy {}{} {}\"", r.why,
          o.cpus, seed, o.strategy, faults, sc->name);
    }
    fmt::print("{}\n", line);
    std::fflush(stdout);
    if (!r.ok && o.expect_failure) {
      fmt::print("sim: fault={} strategy={} found after {} runs (seed {})\n", fault_names,
                 o.strategy, i + 1, seed);
      return 0;
    }
  }
  if (o.expect_failure) {
    fmt::print("sim: fault={} strategy={} not found in {} runs\n", fault_names, o.strategy, o.runs);
    return 1;
  }
  return failed ? 1 : 0;
}

}  // namespace

subcommand add_sim_command(CLI::App& app) {
  auto o = std::make_shared<sim_options>();
  CLI::App* sub = app.add_subcommand("sim", "run a scenario on the deterministic simulator");
  sub->add_option("--cpus", o->cpus, "virtual CPUs (default 64)");
  sub->add_option("--seed", o->seed, "first seed (default 1)");
  sub->add_option("--strategy", o->strategy, "random or pct")
      ->check(CLI::IsMember({"random", "pct"}));
  sub->add_option("--pct-depth", o->pct_depth, "PCT's bug depth d (default 3)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--skew-ns", o->skew_ns, "how far a CPU's clock may run ahead of the slowest");
  sub->add_option("--stall-ppm", o->stall_ppm, "CPU stalls per million scheduling points");
  sub->add_option("--runs", o->runs, "seeds to run, from --seed on (default 1)");
  sub->add_flag("--check-determinism", o->check_determinism,
                "run each seed twice and fail on any difference");
  sub->add_option("--trace", o->trace_file, "write the first run's trace (ftrace text) to FILE");
  sub->add_option("--topology", o->topology, "declared topology (default smt=2,llc=16,numa=4)");
  sub->add_option("--preempt", o->preempt, "none, voluntary or full")
      ->check(CLI::IsMember({"none", "voluntary", "full"}));
  sub->add_option("--host-timeout", o->host_timeout_s, "host seconds before a run counts as hung");
  sub->add_option("--fault", o->faults, "re-introduce a historical bug class (repeatable)");
  sub->add_flag("--expect-failure", o->expect_failure,
                "stop at the first failing seed; succeed only if one fails");
  sub->add_flag("--in-process", o->in_process, "run the first seed in this process (debugging)");
  sub->add_option("scenario", o->scenario, "scenario name, or `list`")->required();
  return {sub, [o] { return cmd_sim(*o); }};
}

}  // namespace cpustop::tool
