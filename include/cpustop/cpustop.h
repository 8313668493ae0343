// Everything cpustop offers.
#pragma once

#include "cpustop/boot.h"
#include "cpustop/cpu.h"
#include "cpustop/cpumask.h"
#include "cpustop/kthread.h"
#include "cpustop/livepatch.h"
#include "cpustop/preempt.h"
#include "cpustop/proc.h"
#include "cpustop/sched.h"
#include "cpustop/smpboot.h"
#include "cpustop/softirq.h"
#include "cpustop/spinlock.h"
#include "cpustop/stop_machine.h"
#include "cpustop/trace.h"
#include "cpustop/wait.h"
#include "cpustop/workqueue.h"
