// Argument parsing shared by the shell's commands and the runtime directory's scan.
#pragma once

#include <sys/types.h>

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "cpustop/cpumask.h"

namespace cpustop::host {

inline const char* strerror_of(int err) {
  return std::strerror(err < 0 ? -err : err);
}

inline bool parse_int(std::string_view s, long* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// A pid as the kernel hands them out: 1 to PID_MAX_LIMIT (4 M), decimal, nothing around it.
inline bool parse_pid(std::string_view s, pid_t* pid) {
  long v;
  if (!parse_int(s, &v) || v <= 0 || v > 4 * 1024 * 1024) return false;
  *pid = static_cast<pid_t>(v);
  return true;
}

// A hex CPU mask as taskset takes it ("3", "0x3", "ff,00000000").
inline bool parse_hex_mask(std::string s, unsigned nr, cpumask* out) {
  if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s = s.substr(2);
  std::string digits;
  for (char c : s)
    if (c != ',') digits += c;
  if (digits.empty()) return false;
  cpumask m;
  unsigned bit = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, bit += 4) {
    int v;
    if (*it >= '0' && *it <= '9')
      v = *it - '0';
    else if (*it >= 'a' && *it <= 'f')
      v = *it - 'a' + 10;
    else if (*it >= 'A' && *it <= 'F')
      v = *it - 'A' + 10;
    else
      return false;
    for (int b = 0; b < 4; b++)
      if (v & (1 << b)) {
        if (bit + static_cast<unsigned>(b) >= nr) return false;
        m.set(bit + static_cast<unsigned>(b));
      }
  }
  *out = m;
  return true;
}

}  // namespace cpustop::host
