#include <pthread.h>
#include <unistd.h>

#include <cstdio>

#include "arch/arch.h"

namespace cpustop::arch {

const host_thread_id& this_host_thread() {
  thread_local host_thread_id id;
  if (!id.tid) {
    id.tid = static_cast<int>(gettid());
    if (pthread_getname_np(pthread_self(), id.comm, sizeof(id.comm)) != 0 || !id.comm[0])
      std::snprintf(id.comm, sizeof(id.comm), "thread-%d", id.tid);
  }
  return id;
}

}  // namespace cpustop::arch
