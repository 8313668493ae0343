// The one place that parses and prints CPU lists.
#include <cerrno>
#include <charconv>

#include "cpustop/cpumask.h"

namespace cpustop {

namespace {

bool parse_uint(std::string_view s, unsigned* out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

int cpulist_parse(std::string_view text, unsigned nr_cpus, cpumask* out) {
  if (text.empty()) return -EINVAL;
  cpumask m;
  bool range_error = false;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::string_view span = item, stride_text;
    if (std::size_t colon = item.find(':'); colon != std::string_view::npos) {
      span = item.substr(0, colon);
      stride_text = item.substr(colon + 1);
    }
    unsigned lo, hi, stride = 1;
    if (std::size_t dash = span.find('-'); dash != std::string_view::npos) {
      if (!parse_uint(span.substr(0, dash), &lo) || !parse_uint(span.substr(dash + 1), &hi))
        return -EINVAL;
    } else {
      if (!parse_uint(span, &lo)) return -EINVAL;
      hi = lo;
      if (!stride_text.empty()) return -EINVAL;
    }
    if (item.find(':') != std::string_view::npos && (!parse_uint(stride_text, &stride) || !stride))
      return -EINVAL;
    if (hi < lo) return -EINVAL;
    if (hi >= nr_cpus || hi >= NR_CPUS) range_error = true;
    for (unsigned c = lo; c <= hi && c < NR_CPUS; c += stride) m.set(c);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return -EINVAL;  // trailing comma
  }
  if (range_error) return -ERANGE;
  *out = m;
  return 0;
}

std::string cpumask_to_cpulist(const cpumask& m) {
  std::string s;
  for (unsigned c = m.first(); c < NR_CPUS;) {
    unsigned end = c;
    while (end + 1 < NR_CPUS && m.test(end + 1)) end++;
    if (!s.empty()) s += ',';
    s += std::to_string(c);
    if (end > c) s += '-' + std::to_string(end);
    c = m.next(end + 1);
  }
  return s;
}

std::string cpumask_to_hex(const cpumask& m) {
  // Groups of 32 bits, most significant first, separated by commas (as in /proc/<pid>/status).
  unsigned last = m.empty() ? 0 : m.last();
  unsigned groups = last / 32 + 1;
  std::string s;
  static const char digits[] = "0123456789abcdef";
  for (int g = static_cast<int>(groups) - 1; g >= 0; g--) {
    std::uint32_t w = 0;
    for (unsigned b = 0; b < 32; b++)
      if (m.test(static_cast<unsigned>(g) * 32 + b)) w |= 1u << b;
    std::string part;
    for (int i = 7; i >= 0; i--) part += digits[(w >> (i * 4)) & 0xf];
    if (g == static_cast<int>(groups) - 1) {
      std::size_t nz = part.find_first_not_of('0');
      part = nz == std::string::npos ? "0" : part.substr(nz);
    }
    if (!s.empty()) s += ',';
    s += part;
  }
  return s;
}

}  // namespace cpustop
