// offload(): a call that blocks without readiness runs on a host thread of the offload pool while
// the task sleeps in D (the kernel's io-wq: the worker runs the request, the submitter waits).
#include <cerrno>

#include "kernel/preempt.h"
#include "net/sock.h"

namespace cpustop::net::detail {

namespace {

struct offload_req {
  arch::offload_work work;
  void (*fn)(void*);
  void* arg;
  completion done;
};

void offload_run(arch::offload_work* w) {
  auto* req = container_of(w, offload_req, work);
  req->fn(req->arg);
  complete(&req->done);  // the last touch: the task may return at once
}

}  // namespace

int offload_call(void (*fn)(void* arg), void* arg) {
  task_struct* p = get_current();
  if (!p || is_idle_task(p) || in_interrupt()) {
    fn(arg);
    return 0;
  }
  if (!might_sleep()) return -EDEADLK;
  offload_req req;
  req.work.fn = offload_run;
  req.fn = fn;
  req.arg = arg;
  init_completion(&req.done);
  if (int err = arch::offload_queue(&req.work)) return err;
  net_stat_inc(NS_OFFLOADED);
  wait_for_completion(&req.done);
  return 0;
}

}  // namespace cpustop::net::detail
