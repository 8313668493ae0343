// cpustop: the command-line program.
//
//   cpustop demo [--cpus N] [--preempt M] [--idle M] [--trace FILE]   the headline demo
//   (--trace FILE for demo, boot and shell: .dat trace.dat, .json JSON, else ftrace text)
//   cpustop boot [--cpus N] [...]                                    boot, print dmesg, halt
//   cpustop shell [--cpus N] [-c 'cmd; cmd']                         taskset, chrt, ps, ...
//   cpustop bench NAME[,NAME]|all|list [--report DIR]                benchmarks (BENCH lines)
//   cpustop sim [--cpus N] [--seed S] [--strategy random|pct] SCENARIO  the simulator (sim build)
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "bench.h"
#include "commands.h"
#include "cpustop/boot.h"
#include "shell.h"

int main(int argc, char** argv) {
  CLI::App app{"cpustop: the Linux kernel's per-CPU stopper machinery in user space", "cpustop"};
  app.require_subcommand(1);
  cpustop::tool::boot_options opts;

  auto add_boot_options = [&](CLI::App* sub) {
    sub->add_option("--cpus", opts.cpus, "logical CPUs (default: the hardware's)");
    sub->add_option("--preempt", opts.preempt, "none, voluntary or full")
        ->check(CLI::IsMember({"none", "voluntary", "full"}));
    sub->add_option("--idle", opts.idle, "halt or poll")->check(CLI::IsMember({"halt", "poll"}));
    sub->add_option("--hz", opts.hz, "tick rate")->check(CLI::Range(100, 10000));
    sub->add_option("--stop-init", opts.stop_init, "linux or lego")
        ->check(CLI::IsMember({"linux", "lego"}));
    sub->add_option("--topology", opts.topology, "declared topology, e.g. smt=2,llc=4,numa=1");
    sub->add_option("--trace", opts.trace_files,
                    "record every event into FILE: .dat trace.dat, .json JSON, else ftrace text "
                    "(may be given more than once)");
  };

  auto* boot_cmd = app.add_subcommand("boot", "boot, print the kernel log and halt");
  add_boot_options(boot_cmd);

  auto* demo_cmd = app.add_subcommand("demo", "the headline demo: migration/N at work");
  add_boot_options(demo_cmd);

  auto* shell_cmd = app.add_subcommand(
      "shell", "boot, then run taskset/chrt/ps/cat/echo/... commands from stdin or -c");
  add_boot_options(shell_cmd);
  std::string script;
  shell_cmd->add_option("-c", script, "commands separated by ';' (exit status of the last)");

  auto* bench_cmd = app.add_subcommand("bench", "run a benchmark (list, all, or a name)");
  std::string bench_name = "list";
  bench_cmd->add_option("name", bench_name, "benchmark names (a,b,...), `all` or `list`");
  std::string report_dir;
  bench_cmd->add_option("--report", report_dir, "write DIR/index.html with plots of the results");

  auto sim_cmd = cpustop::tool::add_sim_command(app);

  CLI11_PARSE(app, argc, argv);

  if (*boot_cmd) return cpustop::tool::cmd_boot(opts);
  if (*demo_cmd) return cpustop::tool::cmd_demo(opts);
  if (*shell_cmd) return cpustop::tool::cmd_shell(opts, script);
  if (*sim_cmd.app) return sim_cmd.run();
  if (*bench_cmd) return cpustop::bench::run_command(bench_name, report_dir);
  return 0;
}
