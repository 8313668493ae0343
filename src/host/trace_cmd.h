// The shell's (and attach's) `trace` command; --trace FILE is in cpustop/shell.h.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace cpustop {

// trace on [EVENT] | off | clear | show | list | stat | stop
//       record [-e EVENT ...] [-o FILE] [CMD ...] | report [FILE]
// run executes CMD (a shell command line split into words) while `trace record` records.
int trace_command(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                  const std::function<int(const std::vector<std::string>&)>& run);

}  // namespace cpustop
