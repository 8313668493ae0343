// The shell's (and attach's) `trace` command; --trace FILE is in cpustop/shell.h.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace cpustop {

// trace on [EVENT] | off | clear | show | list | stat | stop
//       record [-e EVENT ...] [-o FILE] [CMD ...] | report [FILE]
// run executes CMD (a shell command line split into words) while `trace record` records.
// client_dir: see shell::set_client_dir (relative FILEs are resolved against it, or refused when
// it is ""); nullopt: FILEs are this process's.
int trace_command(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                  const std::function<int(const std::vector<std::string>&)>& run,
                  const std::optional<std::string>& client_dir = std::nullopt);

}  // namespace cpustop
