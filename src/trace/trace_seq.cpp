// The printf of event outputs, with the kernel's pointer extensions, and __print_flags() and
// __print_symbolic() as the kernel and libtraceevent print them.
#include <cstdio>
#include <cstring>

#include "trace/trace_event.h"

namespace cpustop {

namespace {

void put(trace_seq* s, const char* spec, const trace_arg& a, char conv, int longs) {
  char buf[256];
  switch (conv) {
    case 'd':
    case 'i': {
      long long v = a.kind == trace_arg::sint ? a.s : static_cast<long long>(a.u);
      if (longs == 0) v = static_cast<int>(v);
      std::snprintf(buf, sizeof(buf), spec, v);
      break;
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
      unsigned long long v = a.kind == trace_arg::sint ? static_cast<unsigned long long>(a.s) : a.u;
      if (longs == 0) v = static_cast<unsigned>(v);
      std::snprintf(buf, sizeof(buf), spec, v);
      break;
    }
    case 'c':
      std::snprintf(buf, sizeof(buf), spec,
                    static_cast<int>(a.kind == trace_arg::sint ? a.s : a.u));
      break;
    case 's': {
      const char* str = a.kind == trace_arg::str && a.p ? a.p : "(null)";
      std::size_t n = strnlen(str, a.max_len);
      std::string bounded(str, n);
      std::snprintf(buf, sizeof(buf), spec, bounded.c_str());
      break;
    }
    default:  // 'p'
      std::snprintf(buf, sizeof(buf), spec, a.kind == trace_arg::ptr ? a.v : nullptr);
  }
  s->buf += buf;
}

}  // namespace

void trace_seq_vprintf(trace_seq* s, const char* fmt, std::span<const trace_arg> args) {
  std::size_t next = 0;
  for (const char* f = fmt; *f; f++) {
    if (*f != '%') {
      s->buf += *f;
      continue;
    }
    if (f[1] == '%') {
      s->buf += '%';
      f++;
      continue;
    }
    // %[flags][width][.precision][length]conversion; the length is re-spelled as ll.
    std::string spec = "%";
    const char* c = f + 1;
    while (*c && std::strchr("-+ #0", *c)) spec += *c++;
    while (*c >= '0' && *c <= '9') spec += *c++;
    if (*c == '.') {
      spec += *c++;
      while (*c >= '0' && *c <= '9') spec += *c++;
    }
    int longs = 0;
    while (*c && std::strchr("hlzjt", *c)) {
      if (*c != 'h') longs++;
      c++;
    }
    char conv = *c;
    if (!conv) break;
    const trace_arg& a = next < args.size() ? args[next] : args.back();
    next++;
    if (conv == 'p' && (c[1] == 's' || c[1] == 'S' || c[1] == 'f' || c[1] == 'F')) {
      bool offset = c[1] == 'S' || c[1] == 'F';
      auto addr = reinterpret_cast<unsigned long>(a.kind == trace_arg::ptr ? a.v : nullptr);
      unsigned long start = 0;
      std::string name = trace_sym_name(addr, &start);
      if (offset && start) {
        char off[32];
        std::snprintf(off, sizeof(off), "+0x%lx", addr - start);
        name += off;
      }
      s->buf += name;
      f = c + 1;
      continue;
    }
    if (conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x' || conv == 'X' || conv == 'o')
      spec += "ll";
    spec += conv;
    put(s, spec.c_str(), a, conv, longs);
    f = c;
  }
}

std::string trace_print_flags(unsigned long flags, const char* delim,
                              std::initializer_list<trace_print_flag_sym> syms) {
  std::string out;
  for (const auto& sym : syms) {
    if (!flags) break;
    if ((flags & sym.mask) != sym.mask || !sym.mask) continue;
    flags &= ~sym.mask;
    if (!out.empty() && delim) out += delim;
    out += sym.name;
  }
  if (flags) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%lx", flags);
    if (!out.empty() && delim) out += delim;
    out += buf;
  }
  return out;
}

std::string trace_print_symbolic(unsigned long val,
                                 std::initializer_list<trace_print_flag_sym> syms) {
  for (const auto& sym : syms)
    if (sym.mask == val) return sym.name;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%lx", val);
  return buf;
}

}  // namespace cpustop
