// Function names for logs and traces (%ps).
#pragma once

#include <string>

namespace cpustop {

// The demangled name of the function containing addr, or its address in hex.
std::string symbol_name(unsigned long addr);

}  // namespace cpustop
