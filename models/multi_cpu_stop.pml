/*
 * multi_cpu_stop: the state machine that every CPU of a stop_machine runs
 * (src/kernel/stop_machine.cpp, the kernel's kernel/stop_machine.c; kernel-spec.md section 4).
 *
 * Each step is named after the function of stop_machine.cpp it models. The caller publishes
 * PREPARE and queues the work; each participant starts with curstate NONE, waits for the state
 * to change (stop_machine_yield: spin, then sleep on the state word), acts on the new state
 * (DISABLE_IRQ: interrupts off; RUN: fn, on the active CPUs only) and acks it; the last to ack a
 * state publishes the next one (set_state: reset thread_ack, then publish, then wake sleepers).
 *
 * Configurations (spin -D...):
 *   NCPU=n          participating CPUs (3 or 4)
 *   ACTIVE=mask     msdata->active_cpus as a bit mask; the others are inactive participants that
 *                   run no fn but must ack every state
 *   FROM_INACTIVE   stop_machine_from_inactive_cpu(): CPU NCPU-1 is coming up (not active), runs
 *                   multi_cpu_stop itself and busy-waits for the others' completion
 * Broken twins (each must be rejected, for its own reason; see models/CMakeLists.txt):
 *   BROKEN_SKIP_ACK              an inactive participant does not ack RUN (it had no fn to run)
 *   BROKEN_SLEEPERS_READ_EARLY   set_state reads `sleepers` before the state store is visible
 *                                (a release store followed by a load, reordered as x86 may)
 *   BROKEN_PUBLISH_BEFORE_RESET  set_state publishes the state before resetting thread_ack
 *   BROKEN_ACK_BEFORE_FN         an active participant acks RUN before its fn has returned
 *
 * Properties:
 *   assertions  set_state only advances by one; interrupts go off only after every participant
 *               has arrived; fn runs only once every participant has interrupts off; nobody
 *               leaves before every fn has returned; fn ran exactly once on each active CPU
 *               and never on an inactive one; stop_machine returns only after every participant
 *               left.
 *   watchdog    at a deadlock (timeout), says why: a sleeper never woken, a state seen but never
 *               acked, or thread_ack out of step with the acks.
 *   progress    every ack is progress: spinning forever without one is a non-progress cycle.
 *   ltl         stop_machine_returns: under weak fairness the caller always returns.
 */

#ifndef NCPU
#define NCPU 3
#endif
#ifndef ACTIVE
#define ACTIVE 1
#endif

#ifdef FROM_INACTIVE
#define NR_STOPPERS (NCPU - 1) /* cpu_active_mask: every CPU but the one coming up */
#define CALLER_CPU (NCPU - 1)
#else
#define NR_STOPPERS NCPU /* cpu_online_mask */
#endif

#define MULTI_STOP_NONE 0
#define MULTI_STOP_PREPARE 1
#define MULTI_STOP_DISABLE_IRQ 2
#define MULTI_STOP_RUN 3
#define MULTI_STOP_EXIT 4

#define is_active(c) (((ACTIVE) >> (c)) & 1)

/* struct multi_stop_data */
byte state = MULTI_STOP_NONE;
short thread_ack; /* an int in the code: a twin can drive it below zero */
byte sleepers;    /* participants asleep (or about to be) on the state word */
byte num_threads;

bit futex_queued[NCPU]; /* the futex queue of &msdata->state */

/* struct cpu_stop_done */
byte nr_todo;
bit done_completed;

bit queued[NCPU]; /* cpu_stop_queue_work() put the work on this CPU's stopper list */

/* Ghost state: what the properties look at; nothing in the code keeps it. */
byte nr_active;      /* participants in active_cpus */
byte nr_arrived;     /* participants that entered multi_cpu_stop */
byte nr_irqs_off;    /* participants with interrupts disabled */
byte nr_fn_returned; /* calls of fn that returned */
byte nr_left;        /* participants that returned from multi_cpu_stop */
byte fn_calls[NCPU];
byte seen[NCPU];  /* each participant's curstate (the local variable of multi_cpu_stop) */
bit acked[NCPU];  /* the participant has acked its curstate */
#define curstate seen[cpu]
bit returned;     /* stop_machine returned to its caller */

hidden byte scratch;

inline futex_wake_all()
{
	d_step {
		scratch = 0;
		do
		:: scratch < NCPU -> futex_queued[scratch] = 0; scratch++
		:: else -> break
		od;
		scratch = 0
	}
}

/* set_state(): reset the ack counter, then publish the state, then wake the sleepers. */
inline set_state(ns)
{
	assert(ns == MULTI_STOP_PREPARE || ns == state + 1); /* the transition function's BUG */
#if defined(BROKEN_PUBLISH_BEFORE_RESET)
	state = ns;
	thread_ack = num_threads;
	wake = (sleepers > 0);
#elif defined(BROKEN_SLEEPERS_READ_EARLY)
	thread_ack = num_threads;
	wake = (sleepers > 0);
	state = ns;
#else
	thread_ack = num_threads;
	state = ns;
	wake = (sleepers > 0);
#endif
	if
	:: wake -> wake = 0; futex_wake_all()
	:: else -> skip
	fi
}

/* ack_state(): the last one to ack a state moves to the next state. */
inline ack_state(cpu)
{
	d_step {
		thread_ack--;
		last = (thread_ack == 0);
		acked[cpu] = 1
	}
	if
	:: last -> d_step { last = 0; ns = state + 1 }; set_state(ns); ns = 0
	:: else -> skip
	fi;
progress_ack: skip
}

/*
 * stop_machine_yield(): spin on the state word (cond_spin) for a while, then sleep on it
 * (sleepers++, cond_block(&state, curstate, COND_FOREVER), sleepers--). The spin budget is
 * abstracted as a free choice. The re-read of the state before cond_block is folded into the
 * futex's own check of the word.
 */
inline stop_machine_yield(cpu)
{
	do
	:: atomic { state != curstate -> newstate = state }; break
	:: state == curstate -> skip /* cpu_relax(), look again */
	:: atomic { state == curstate -> sleepers++ };
		atomic {
			if
			:: state == curstate -> futex_queued[cpu] = 1
			:: else -> skip
			fi
		}
		atomic { futex_queued[cpu] == 0 -> sleepers-- }
		newstate = state;
		break
	od
}

/* multi_cpu_stop(): the participant's loop; returns once it has acked EXIT. */
inline multi_cpu_stop(cpu)
{
	nr_arrived++; /* curstate = MULTI_STOP_NONE */
	do
	:: curstate == MULTI_STOP_EXIT -> break
	:: else ->
		stop_machine_yield(cpu);
		if
		:: newstate != curstate ->
			d_step { curstate = newstate; newstate = 0; acked[cpu] = 0 }
			if
			:: curstate == MULTI_STOP_DISABLE_IRQ ->
				assert(nr_arrived == num_threads); /* irqs off only after all arrived */
				nr_irqs_off++
			:: curstate == MULTI_STOP_RUN && is_active(cpu) ->
				assert(nr_irqs_off == num_threads); /* fn only once all have irqs off */
				fn_calls[cpu]++;
#ifndef BROKEN_ACK_BEFORE_FN
				nr_fn_returned++
#endif
			:: else -> skip
			fi;
#ifdef BROKEN_SKIP_ACK
			if
			:: curstate == MULTI_STOP_RUN && !is_active(cpu) -> skip /* "nothing to ack" */
			:: else -> ack_state(cpu)
			fi
#else
			ack_state(cpu)
#endif
#ifdef BROKEN_ACK_BEFORE_FN
			;
			if
			:: curstate == MULTI_STOP_RUN && is_active(cpu) -> nr_fn_returned++
			:: else -> skip
			fi
#endif
		:: else -> newstate = 0
		fi
	od;
	assert(nr_fn_returned == nr_active); /* nobody leaves before every fn has returned */
	nr_irqs_off--; /* local_irq_restore(flags) */
	nr_left++
}

/* cpu_stop_signal_done(): the last work to finish completes the done. */
inline cpu_stop_signal_done()
{
	d_step { nr_todo--; last = (nr_todo == 0) }
	if
	:: last -> last = 0; done_completed = 1 /* complete(&done->completion) */
	:: else -> skip
	fi
}

/* cpu_stopper_thread(): runs the one queued work (multi_cpu_stop) and signals its done. */
proctype cpu_stopper_thread(byte cpu)
{
	byte newstate, ns;
	bit last, wake;

	queued[cpu] == 1; /* cpu_stop_should_run(), after wake_up_process() */
	multi_cpu_stop(cpu);
	cpu_stop_signal_done()
}

/* queue_stop_cpus_work(): cpu_stop_queue_work() on each CPU of the mask, ascending. */
inline queue_stop_cpus_work()
{
	do
	:: i < NR_STOPPERS -> queued[i] = 1; i++
	:: else -> i = 0; break
	od
}

/* stop_machine_cpuslocked(fn, data, cpus): every online CPU runs multi_cpu_stop. */
inline stop_machine_cpuslocked()
{
	num_threads = NCPU; /* num_online_cpus() */
	set_state(MULTI_STOP_PREPARE);
	nr_todo = NCPU; /* __stop_cpus(): cpu_stop_init_done(&done, cpumask_weight(online)) */
	queue_stop_cpus_work();
	done_completed == 1 /* wait_for_completion(&done.completion) */
}

/* stop_machine_from_inactive_cpu(fn, data, cpus): the calling CPU, not yet active, is a
 * participant itself; it busy-waits for the others instead of sleeping. */
inline stop_machine_from_inactive_cpu()
{
	num_threads = NR_STOPPERS + 1; /* num_active_cpus() + 1 */
	set_state(MULTI_STOP_PREPARE);
	nr_todo = NR_STOPPERS; /* cpu_stop_init_done(&done, num_active_cpus()) */
	queue_stop_cpus_work();
	multi_cpu_stop(cpu);
	do /* while (!completion_done(&done.completion)) cpu_relax(); */
	:: done_completed -> break
	:: else -> skip
	od
}

/* The caller of stop_machine. */
init
{
	byte newstate, ns, i;
	bit last, wake;
#ifdef FROM_INACTIVE
	byte cpu = CALLER_CPU;
#endif

	atomic {
		do
		:: i < NCPU -> nr_active = nr_active + is_active(i); i++
		:: else -> i = 0; break
		od;
		do
		:: i < NR_STOPPERS -> run cpu_stopper_thread(i); i++
		:: else -> i = 0; break
		od
	}
#ifdef FROM_INACTIVE
	stop_machine_from_inactive_cpu();
#else
	stop_machine_cpuslocked();
#endif
	assert(nr_left == NCPU); /* every participant returned before stop_machine did */
	do
	:: i < NCPU -> assert(fn_calls[i] == is_active(i)); i++ /* once per active CPU, else never */
	:: else -> break
	od;
	returned = 1
}

/* At a deadlock (nothing else can move), say why. */
active proctype watchdog()
{
	byte i, nr_acked;
	bit lost_wakeup, unacked_state, ack_count_wrong;

	timeout ->
	d_step {
		i = 0;
		do
		:: i < NCPU ->
			lost_wakeup = lost_wakeup || (futex_queued[i] && seen[i] != state);
			unacked_state = unacked_state || (seen[i] == state && !acked[i]);
			nr_acked = nr_acked + (seen[i] == state && acked[i]);
			i++
		:: else -> break
		od;
		ack_count_wrong = (thread_ack != num_threads - nr_acked)
	}
	assert(!lost_wakeup);     /* asleep on a state word that changed, and never woken */
	assert(!unacked_state);   /* a participant saw the current state and never acked it */
	assert(!ack_count_wrong); /* thread_ack disagrees with the acks taken */
	assert(returned)          /* stuck for a reason not named above */
}

ltl stop_machine_returns { <> returned }
