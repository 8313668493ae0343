// Signals, as much of them as tasks need to be interrupted: kill() marks a signal pending on a
// task and wakes it from an interruptible sleep (TASK_INTERRUPTIBLE, state S: the socket calls of
// cpustop/net.h), which then returns -EINTR. There are no handlers and nothing is killed: a
// signal stays pending, and every interruptible sleep of the task returns -EINTR at once, until
// the task takes it with flush_signals(). Sleeps in D (msleep, mutexes, completions, offloaded
// calls) are not interrupted, as in the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace cpustop {

// Marks sig pending on task pid and wakes it if it sleeps interruptibly. Any context. 0 (also for
// kernel threads, which ignore signals as the kernel's do); sig 0 only checks that pid exists.
// -ESRCH (no such task), -EINVAL (sig outside 0..64).
int kill(pid_t pid, int sig);
// Whether a signal is pending on the calling task (false outside tasks).
bool signal_pending();
// The calling task's pending signals (bit n-1 for signal n), now cleared. 0 outside tasks.
std::uint64_t flush_signals();

}  // namespace cpustop
