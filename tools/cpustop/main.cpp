// cpustop: the command-line program.
//
//   cpustop demo [--cpus N] [--preempt M] [--idle M] [--trace FILE]   the headline demo
//   (--trace FILE for demo, boot and shell: .dat trace.dat, .json JSON, else ftrace text)
//   cpustop boot [--cpus N] [...]                                    boot, print dmesg, halt
//   cpustop shell [--cpus N] [-c 'cmd; cmd']                         taskset, chrt, ps, ...
//   cpustop list                                                     the running machines
//   cpustop attach PID [CMD...]                                      a shell command in one
//   cpustop enter PID [-- CMD...]                                    CMD with its /proc and /sys
//   cpustop bench NAME[,NAME]|all|list [--report DIR]                benchmarks (BENCH lines)
//   cpustop sim [--cpus N] [--seed S] [--strategy random|pct] SCENARIO  the simulator (sim build)
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <string_view>

#include "bench.h"
#include "commands.h"
#include "cpustop/boot.h"

int main(int argc, char** argv) {
  // attach and enter pass the rest of the line on untouched (and start fast): parsed here.
  if (argc >= 2 &&
      (std::string_view(argv[1]) == "attach" || std::string_view(argv[1]) == "enter")) {
    bool enter = std::string_view(argv[1]) == "enter";
    char* end = nullptr;
    long pid = argc >= 3 ? std::strtol(argv[2], &end, 10) : 0;
    if (argc < 3 || *end || pid <= 0) {
      fmt::print(stderr, "cpustop: {}: usage: cpustop {} PID {}\n", argv[1], argv[1],
                 enter ? "[-- CMD...]" : "[CMD...]");
      return 1;
    }
    std::vector<std::string> words(argv + 3, argv + argc);
    if (enter) {
      if (!words.empty() && words[0] == "--") words.erase(words.begin());
      return cpustop::tool::cmd_enter(static_cast<pid_t>(pid), words);
    }
    return cpustop::tool::cmd_attach(static_cast<pid_t>(pid), words);
  }
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

  app.add_subcommand("list", "list the running machines (pid, program, start, CPUs, tasks)");

  // Parsed before CLI11 (above); here for the help text.
  app.add_subcommand("attach",
                     "PID [CMD...]: run a shell command in a running machine "
                     "(the interactive shell without one)");
  app.add_subcommand("enter",
                     "PID [-- CMD...]: run CMD (default $SHELL) where /proc and "
                     "/sys/devices/system/cpu are the machine's");
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
  if (app.got_subcommand("list")) return cpustop::tool::cmd_list();
  if (*sim_cmd.app) return sim_cmd.run();
  if (*bench_cmd) return cpustop::bench::run_command(bench_name, report_dir);
  return 0;
}
