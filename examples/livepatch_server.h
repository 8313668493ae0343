// The request path shared by the live-patching example and its test: an entry point and two
// helpers, each in two versions. A request that mixed versions is detectable from its result.
#pragma once

#include "cpustop/cpustop.h"
#include "cpustop/livepatch.h"

namespace lp_example {

inline int parse_v1(int x) {
  return x + 1;
}
inline int parse_v2(int x) {
  return x + 1001;
}
inline int render_v1(int x) {
  return 2 * x + 1;
}
inline int render_v2(int x) {
  return 2 * x + 2;
}

inline cpustop::klp_func<int(int)> parse{"parse", parse_v1};
inline cpustop::klp_func<int(int)> render{"render", render_v1};

// 1 or 2 for a consistent request of that version, 0 for a mixed one.
template <int V>
int handle_impl(int x) {
  int a = parse(x);
  if ((x & 15) == 0) cpustop::cond_resched();  // now and then, a task is preempted in here
  int b = render(x);
  int pv = a - x == 1 ? 1 : 2, rv = b - 2 * x == 1 ? 1 : 2;
  return pv == rv ? pv : 0;
}
inline int handle_v1(int x) {
  return handle_impl<1>(x);
}
inline int handle_v2(int x) {
  return handle_impl<2>(x);
}

// The entry point is patched too: while a task is inside a request, the patch waits.
inline cpustop::klp_func<int(int)> handle{"handle", handle_v1};

inline cpustop::klp_patch make_patch() {
  return cpustop::klp_patch{{cpustop::klp_func_change(parse, parse_v2),
                             cpustop::klp_func_change(render, render_v2),
                             cpustop::klp_func_change(handle, handle_v2)}};
}

}  // namespace lp_example
