/*
 * Pair and all-CPU queueing of stop works (src/kernel/stop_machine.cpp, the kernel's
 * kernel/stop_machine.c; kernel-spec.md sections 2, 3, 9.4-9.5 and 10a, 10b, 10f).
 *
 * Three CPUs, each with its stopper (cpu_stopper_thread: a FIFO of works under the stopper lock,
 * run one at a time, highest priority on its CPU). Three overlapping stop_two_cpus() calls
 * (0,1), (1,2), (2,0) -- the ring of b17718d02f54 -- and one stop_machine() on all CPUs.
 * Each caller is a task on a CPU: while that CPU's stopper is awake the caller does not run
 * there, unless the caller has preemption disabled (the `provided` clauses).
 *
 * multi_cpu_stop is abstracted to what queueing needs: a participant arrives and waits until
 * every participant of its work has arrived (PREPARE completes only when every stopper runs
 * it); past that point all participants run to EXIT without waiting on anything else, which
 * models/multi_cpu_stop.pml checks.
 *
 * Broken twins (spin -D...; each must be rejected for its own reason, see models/CMakeLists.txt):
 *   BROKEN_OWN_LOCK_ONLY    cpu_stop_queue_two_works queues each work under only its own
 *                           stopper lock (two pairs can then queue in opposite orders)
 *   BROKEN_NO_IN_PROGRESS   cpu_stop_queue_two_works ignores stop_cpus_in_progress
 *                           (a pair can slip between stop_machine's per-CPU queueings)
 *   BROKEN_DESCENDING_LOCK  stop_two_cpus does not sort its CPUs: the locks are taken in argument
 *                           order, so (2,0) takes them in descending order
 *   BROKEN_WAKE_PREEMPTIBLE preemption is enabled again before the wakeups (9fb8d5dc4b64): the
 *                           local stopper preempts the waker before it wakes the other one
 *   NO_CYCLE_CHECK          (with a twin) leave out the queue-order assertion, to see the
 *                           deadlock it predicts
 *
 * Properties:
 *   queue_cycle  (assertion at every queueing) the works queued ahead of each other form no
 *                cycle: a cycle means every stopper on it waits for a participant queued behind
 *                another work on some CPU of the cycle (kernel-spec.md 9.5: "never interleave")
 *   watchdog     at a deadlock, why: a stopper lock held forever (lock order), a queued work
 *                whose stopper nobody woke, stoppers waiting in multi_cpu_stop for a participant
 *                that never comes; otherwise every caller returned
 *   progress     each work a stopper finishes is progress (pan -l: no cycle without one)
 *   ltl          all_callers_return: every caller returns
 * The model has no busy loops (waiting for stop_cpus_in_progress to clear changes nothing),
 * so the liveness checks need no fairness assumption.
 */

#define NCPU 3
#define NWORKS 4 /* three pairs, then stop_machine */
#define SM 3
#define NOBODY 255

#define num_threads(w) ((w) == SM -> NCPU : 2)

/* struct cpu_stopper */
bit stopper_lock[NCPU];
chan works[NCPU] = [NWORKS] of { byte }; /* stopper->works, FIFO */
bit stopper_woken[NCPU]; /* TASK_RUNNING: wake_up_process() since it last went to sleep */

bit stop_cpus_in_progress;

/* Which task has preemption disabled on each CPU (NOBODY: none). */
byte preempt_off[NCPU] = NOBODY;

/* Per work: multi_stop_data and cpu_stop_done */
byte arrived[NWORKS]; /* participants that entered multi_cpu_stop */
byte nr_todo[NWORKS];

/* Ghost state for the properties. */
byte pending[NCPU];   /* works queued or running on each CPU (bit per work) */
byte ahead[NWORKS];   /* works that were queued ahead of this one on one of its CPUs */
bit in_stop[NCPU];    /* the stopper is inside multi_cpu_stop */
byte nr_returned;     /* callers that returned */

hidden byte reach, scratch;

/* A task on `cpu` may run when it holds preemption off there, or when nobody does and the
 * stopper of its CPU sleeps. */
#define may_run(cpu) (preempt_off[cpu] == _pid || (preempt_off[cpu] == NOBODY && !stopper_woken[cpu]))

/*
 * Steps that nobody else can observe apart are merged into one atomic step: what a caller does
 * while it holds the stopper locks, and preempt_disable() with the lock taken right after it.
 */

/* __cpu_stop_queue_work(): list_add_tail under the stopper lock, and the queue-order check. */
inline __cpu_stop_queue_work(c, w)
{
	assert(stopper_lock[c]);
	works[c]!w;
	ahead[w] = ahead[w] | pending[c];
	pending[c] = pending[c] | (1 << w);
#ifndef NO_CYCLE_CHECK
	/* queue_cycle: is w now (transitively) queued ahead of itself? */
	reach = ahead[w];
	scratch = 0;
	do
	:: scratch < NWORKS * NWORKS ->
		if
		:: reach & (1 << (scratch % NWORKS)) -> reach = reach | ahead[scratch % NWORKS]
		:: else -> skip
		fi;
		scratch++
	:: else -> break
	od;
	queue_cycle = (reach & (1 << w)) != 0;
	assert(!queue_cycle);
	reach = 0;
	scratch = 0
#endif
}

/* cond_wait(!stop_cpus_in_progress), preemption enabled. Spinning changes nothing, so it is
 * modelled as a wait: the model has no busy loops and liveness needs no fairness assumption. */
inline cond_wait_stop_cpus_not_in_progress()
{
	!stop_cpus_in_progress
}

/* cpu_stop_queue_two_works(): both works or neither, both stopper locks held, cpu1 first. */
inline cpu_stop_queue_two_works(cpu1, cpu2, w)
{
	do
	:: /* preempt_disable(); raw_spin_lock_irqsave(&stopper1->lock) */
		atomic { !stopper_lock[cpu1] -> preempt_off[mycpu] = _pid; stopper_lock[cpu1] = 1 }
#ifdef BROKEN_OWN_LOCK_ONLY
		if
		:: stop_cpus_in_progress ->
			d_step { stopper_lock[cpu1] = 0; preempt_off[mycpu] = NOBODY }
			cond_wait_stop_cpus_not_in_progress()
		:: else ->
			d_step { __cpu_stop_queue_work(cpu1, w); stopper_lock[cpu1] = 0 }
			atomic {
				!stopper_lock[cpu2] -> stopper_lock[cpu2] = 1;
				__cpu_stop_queue_work(cpu2, w);
				stopper_lock[cpu2] = 0
			}
			break
		fi
#else
		/* raw_spin_lock(&stopper2->lock), then under both locks: */
		atomic {
			!stopper_lock[cpu2] -> stopper_lock[cpu2] = 1;
			if
#ifndef BROKEN_NO_IN_PROGRESS
			:: stop_cpus_in_progress -> /* -EDEADLK: unlock both, preempt_enable(), retry */
				stopper_lock[cpu2] = 0;
				stopper_lock[cpu1] = 0;
				preempt_off[mycpu] = NOBODY;
				retry = 1
#endif
			:: else ->
				__cpu_stop_queue_work(cpu1, w);
				__cpu_stop_queue_work(cpu2, w);
				stopper_lock[cpu2] = 0;
				stopper_lock[cpu1] = 0
			fi
		}
		if
		:: retry -> retry = 0; cond_wait_stop_cpus_not_in_progress()
		:: else -> break
		fi
#endif
	od;
#ifdef BROKEN_WAKE_PREEMPTIBLE
	preempt_off[mycpu] = NOBODY; /* preempt_enable() too early */
	stopper_woken[cpu1] = 1;     /* wake_up_process(stopper1->thread) */
	stopper_woken[cpu2] = 1      /* wake_up_process(stopper2->thread) */
#else
	stopper_woken[cpu1] = 1; /* wake_up_process(stopper1->thread) */
	d_step {
		stopper_woken[cpu2] = 1; /* wake_up_process(stopper2->thread) */
		preempt_off[mycpu] = NOBODY /* preempt_enable() */
	}
#endif
}

/* stop_two_cpus(a, b) called by a task on mycpu: works on both, ordered low to high. */
proctype stop_two_cpus(byte a, b, w, mycpu) provided (may_run(mycpu))
{
	byte cpu1, cpu2;
	bit queue_cycle, retry;

	d_step {
		nr_todo[w] = 2; /* cpu_stop_init_done(&done, 2); set_state(&msdata, PREPARE) */
		cpu1 = a;
		cpu2 = b;
#ifndef BROKEN_DESCENDING_LOCK
		if
		:: cpu1 > cpu2 -> cpu1 = b; cpu2 = a /* if (cpu1 > cpu2) swap(cpu1, cpu2) */
		:: else -> skip
		fi
#endif
	}
	cpu_stop_queue_two_works(cpu1, cpu2, w);
	nr_todo[w] == 0; /* wait_for_completion(&done.completion) */
	nr_returned++
}

/* stop_machine(fn, NULL, NULL) called by a task on mycpu. */
proctype stop_machine(byte mycpu) provided (may_run(mycpu))
{
	byte c;
	bit queue_cycle;

	/* stop_machine_cpuslocked -> __stop_cpus (stop_cpus_mutex is uncontended here) ->
	 * queue_stop_cpus_work(): preemption off, stop_cpus_in_progress set, ascending CPU order */
	d_step { nr_todo[SM] = NCPU; preempt_off[mycpu] = _pid; stop_cpus_in_progress = 1 }
	do
	:: c < NCPU ->
		/* cpu_stop_queue_work(): lock, __cpu_stop_queue_work, unlock; then wake */
		atomic {
			!stopper_lock[c] -> stopper_lock[c] = 1;
			__cpu_stop_queue_work(c, SM);
			stopper_lock[c] = 0
		}
		atomic { stopper_woken[c] = 1; c++ }
	:: else -> break
	od;
	atomic { stop_cpus_in_progress = 0; preempt_off[mycpu] = NOBODY; c = 0 }
	nr_todo[SM] == 0; /* wait_for_completion(&done.completion) */
	nr_returned++
}

/* cpu_stopper_thread() in smpboot_thread_fn(): pop the head under the lock, run it, repeat;
 * sleep when the list is empty. It preempts everything on its CPU but a preempt-off section. */
proctype cpu_stopper_thread(byte c)
{
	byte w;

end:
	do
	:: atomic {
			stopper_woken[c] && preempt_off[c] == NOBODY && !stopper_lock[c] && nempty(works[c]) ->
			works[c]?w;
			in_stop[c] = 1;
			arrived[w]++ /* multi_cpu_stop(): this participant is running */
		}
		/* multi_cpu_stop(): PREPARE completes once every participant runs it */
		arrived[w] == num_threads(w);
		/* cpu_stop_signal_done() */
progress_done: d_step {
			in_stop[c] = 0;
			pending[c] = pending[c] & ~(1 << w);
			nr_todo[w]--;
			if
			:: nr_todo[w] == 0 -> /* done: w holds nobody up any more */
				ahead[w] = 0;
				scratch = 0;
				do
				:: scratch < NWORKS -> ahead[scratch] = ahead[scratch] & ~(1 << w); scratch++
				:: else -> break
				od;
				scratch = 0
			:: else -> skip
			fi;
			w = 0
		}
	:: atomic { stopper_woken[c] && empty(works[c]) -> stopper_woken[c] = 0 } /* schedule() */
	od
}

init
{
	atomic {
		run cpu_stopper_thread(0);
		run cpu_stopper_thread(1);
		run cpu_stopper_thread(2);
		run stop_two_cpus(0, 1, 0, 0);
		run stop_two_cpus(1, 2, 1, 1);
		run stop_two_cpus(2, 0, 2, 2);
		run stop_machine(1)
	}
}

/* At a deadlock (nothing else can move), say why. */
active proctype watchdog()
{
	byte c;
	bit locks_held, unwoken_work, stoppers_stuck;

	timeout ->
	d_step {
		do
		:: c < NCPU ->
			locks_held = locks_held || stopper_lock[c];
			unwoken_work = unwoken_work || (len(works[c]) > 0 && !stopper_woken[c]);
			stoppers_stuck = stoppers_stuck || in_stop[c];
			c++
		:: else -> break
		od
	}
	assert(!locks_held);     /* waiting forever on a stopper lock: the lock order is broken */
	assert(!unwoken_work);   /* a work queued to a stopper that nobody woke */
	assert(!stoppers_stuck); /* stoppers wait in multi_cpu_stop for a participant queued behind */
	assert(nr_returned == 4)
}

ltl all_callers_return { <> (nr_returned == 4) }
