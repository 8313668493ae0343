// Creating and ending tasks (kernel/fork.c, kernel/exit.c).
#pragma once

#include "kernel/task.h"

namespace cpustop {

struct task_create_args {
  std::string_view name;
  const task_attr* attr = nullptr;  // nullptr: the defaults (not a copy: the mask is large)
  bool kthread = false;
  // What the task runs: either a callable constructed on its stack...
  std::size_t fn_size = 0, fn_align = 1;
  detail::construct_fn construct = nullptr;
  void* construct_src = nullptr;
  detail::invoke_fn invoke = nullptr;
  // ...or a plain function.
  int (*threadfn)(void*) = nullptr;
  void* threadfn_data = nullptr;
};

// Validates, allocates and initialises a task in TASK_NEW with a pid; the caller wakes it with
// wake_up_new_task(). Returns the task or a negative errno in *err.
task_struct* copy_process(const task_create_args& args, int* err);
// Ends the current task with `code`; never returns.
[[noreturn]] void do_exit(int code);
// Drops a dead task's stack and the scheduler's reference (finish_task_switch of TASK_DEAD).
void release_task_stack_and_ref(task_struct* p);
// Removes a zombie's pid and its reference (wait4/join reaping).
void release_task(task_struct* p);

void fork_init(unsigned nr_cpus);
void fork_exit();
// Tasks created and not yet freed (leak check at shutdown).
long nr_live_task_structs();

}  // namespace cpustop
