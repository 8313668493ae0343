// The shell's (and attach's) `trace` command, and `--trace FILE` of demo, shell and boot.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace cpustop::tool {

// trace on [EVENT] | off | clear | show | list | stat | stop
//       record [-e EVENT ...] [-o FILE] [CMD ...] | report [FILE]
// run executes CMD (a shell command line split into words) while `trace record` records.
int trace_command(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                  const std::function<int(const std::vector<std::string>&)>& run);

// --trace FILE...: before boot, record every event; at the end, write them to each FILE in the
// format its extension names (.dat trace.dat, .json Chrome/Perfetto JSON, else ftrace text).
// Both do nothing without files. trace_file_write returns 0, or 1 after a message.
void trace_file_start(const std::vector<std::string>& paths);
int trace_file_write(const std::vector<std::string>& paths, std::ostream& err);

}  // namespace cpustop::tool
