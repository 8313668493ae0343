// The benchmark registry behind `cpustop bench NAME`. Each benchmark measures ours and its peers
// in the same run, alternating (bench_util.h: compare()), and ends its output with one BENCH line
// per comparison.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cpustop::bench {

struct benchmark {
  std::string name;
  std::string description;
  std::function<int()> run;  // 0 on success
};

const std::vector<benchmark>& all();
// Registers at static-initialisation time (see the .cpp files in bench/).
struct registrar {
  registrar(std::string name, std::string description, std::function<int()> run);
};

// `cpustop bench NAME[,NAME...]|all|list [--report DIR]`: prints the host, runs the benchmarks, and
// with a report directory writes DIR/index.html (report.h). Returns the exit status: 1 when a
// benchmark failed, the name is unknown or the report could not be written.
int run_command(const std::string& name, const std::string& report_dir);

}  // namespace cpustop::bench
