// Per-CPU hotplug threads (kernel/smpboot.c): the framework that creates migration/N,
// ksoftirqd/N and kworker/N:0 on every CPU, parks them while their CPU is offline and unparks
// them when it comes back.
#pragma once

#include "cpustop/cpumask.h"
#include "cpustop/list.h"

namespace cpustop {

struct task_struct;

struct smp_hotplug_thread {
  // Where the thread of `cpu` is kept (the kernel's per-CPU pointer), owned by the registrant.
  task_struct** (*store)(unsigned int cpu) = nullptr;
  list_head list;
  // With preemption disabled: is there work for thread_fn?
  int (*thread_should_run)(unsigned int cpu) = nullptr;
  // The work, run in the thread on its CPU.
  void (*thread_fn)(unsigned int cpu) = nullptr;
  // In the creator's context, after the thread is created and parked.
  void (*create)(unsigned int cpu) = nullptr;
  // In the thread, at its first run / when it stops / before it parks / after it unparks.
  void (*setup)(unsigned int cpu) = nullptr;
  void (*cleanup)(unsigned int cpu, bool online) = nullptr;
  void (*park)(unsigned int cpu) = nullptr;
  void (*unpark)(unsigned int cpu) = nullptr;
  // The owner parks and unparks the thread itself (the stopper does); smpboot only creates.
  bool selfparking = false;
  const char* thread_comm = nullptr;  // e.g. "migration/%u"
};

// Creates (parked) and, unless selfparking, unparks a thread on every online CPU, and keeps
// doing so for CPUs that come online later. May sleep. 0, or the first error (nothing left).
int smpboot_register_percpu_thread(smp_hotplug_thread* plug_thread);
// Parks and stops the threads of plug_thread on every CPU. May sleep.
void smpboot_unregister_percpu_thread(smp_hotplug_thread* plug_thread);

}  // namespace cpustop
