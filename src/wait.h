/*
 * wait.h - the per-thread bookkeeping every wrapper does: enter, held locks,
 * waits. Inline, because it is the lock fast path.
 *
 * Fast path budget (uncontended lock + unlock of a normal mutex): the TLS
 * load of the record, a look at the top entry, two stores of the new entry
 * and one of the top, the real call as a tail call; on unlock a compare
 * with the top entry, a store, the tail call. No count, no bound, no NULL
 * test (see lw_thread and lw_untracked in registry.h). No allocation, no
 * shared write, no clock.
 *
 * A wait is published only when the thread will really block (the try call
 * failed, or the call always blocks: cond, join, barrier). Its stack is not
 * unwound then: the registers an unwinder needs are saved
 * (lw_capture_registers) in the wrapper's own frame, which stays put while
 * the thread sleeps, and a report unwinds from them later (see lw_wait in
 * registry.h for the handshake).
 */
#ifndef LW_WAIT_H
#define LW_WAIT_H

#include "interpose.h"
#include "registry.h"

/* The caller's record, adopting a thread met for the first time. NULL means
 * "just forward the call": inside the shim, during start-up, or disabled. */
lw_thread *lw_thread_enter_slow(void);

static LW_ALWAYS_INLINE lw_thread *lw_thread_enter(void) {
  lw_thread *self = lw_self;
  if (LW_LIKELY(self != LW_UNTRACKED))
    return self;
  return lw_thread_enter_slow();
}

/* Where the program called the wrapper. A macro: it must expand inside the
 * exported wrapper itself. */
#define LW_CALLER_PC() ((uintptr_t)__builtin_return_address(0))

/* True when `self` lists any lock. */
static LW_ALWAYS_INLINE bool lw_holds_listed(const lw_thread *self) {
  return self->held_top != &self->held_slots[0];
}

/* True when there is a free slot above `top` (self's held_top). */
static LW_ALWAYS_INLINE bool lw_held_has_room(const lw_thread *self, const lw_held *top) {
  return top < &self->held_slots[LW_HELD_MAX];
}

/* Push above `top`, self's held_top, which the caller checked for room.
 * The top moves first: a signal handler that locks in between then pushes
 * above the slot instead of over it (its own lock and unlock are
 * balanced). Another thread reading the list may see the slot a moment
 * before its contents. */
static LW_ALWAYS_INLINE void lw_held_push_above(lw_thread *self, lw_held *top, const void *object,
                                                uintptr_t site) {
  lw_held *slot = top + 1;
  __atomic_store_n(&self->held_top, slot, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  slot->object = object;
  slot->site = site;
}

/* Push if there is room: a lock taken deeper than LW_HELD_MAX is not
 * listed, and its unlock is checked against glibc's owner (misuse.c). */
static LW_ALWAYS_INLINE void lw_held_push(lw_thread *self, const void *object, uintptr_t site) {
  lw_held *top = self->held_top;
  if (LW_LIKELY(lw_held_has_room(self, top)))
    lw_held_push_above(self, top, object, site);
}

/* The unlock fast path: pops `object` if it is the newest entry. False
 * otherwise, and always for lw_untracked (its top matches no lock). */
static LW_ALWAYS_INLINE bool lw_held_pop_top(lw_thread *self, const void *object) {
  lw_held *top = self->held_top;
  if (LW_UNLIKELY(top->object != object))
    return false;
  __atomic_store_n(&self->held_top, top - 1, __ATOMIC_RELEASE);
  return true;
}

/* Remove `object` from the held list when it is not the top entry. False
 * if the thread did not list it (misuse.c decides what that means). */
bool lw_held_remove_slow(lw_thread *self, const void *object);

static LW_ALWAYS_INLINE void lw_held_pop(lw_thread *self, const void *object) {
  if (!lw_held_pop_top(self, object))
    lw_held_remove_slow(self, object);
}

/* Slow-path notification for the helper thread (watcher.c): a wait began.
 * A load and a test unless the helper sleeps with nothing to watch. */
void lw_watcher_wait_began(lw_thread *self);

/*
 * The registers an unwinder needs to walk the stack from here: the stack
 * pointer, this instruction, and the callee-saved registers (the caller's
 * values live there or in slots the CFI names). A few stores, against the
 * hundreds of cycles unw_getcontext spends on the floating-point state an
 * unwinder never reads. Inline assembly in the caller's own frame: the
 * context describes the wrapper, whose frame stays put while it sleeps.
 */
static LW_ALWAYS_INLINE void lw_capture_registers(unw_context_t *context) {
  greg_t *regs = context->uc_mcontext.gregs;
  __asm__ volatile("movq %%rbx, %c[rbx](%0)\n\t"
                   "movq %%rbp, %c[rbp](%0)\n\t"
                   "movq %%r12, %c[r12](%0)\n\t"
                   "movq %%r13, %c[r13](%0)\n\t"
                   "movq %%r14, %c[r14](%0)\n\t"
                   "movq %%r15, %c[r15](%0)\n\t"
                   "movq %%rsp, %c[rsp](%0)\n\t"
                   "leaq 0(%%rip), %%rax\n\t"
                   "movq %%rax, %c[rip](%0)"
                   :
                   : "r"(regs), [rbx] "i"(REG_RBX * 8), [rbp] "i"(REG_RBP * 8),
                     [r12] "i"(REG_R12 * 8), [r13] "i"(REG_R13 * 8), [r14] "i"(REG_R14 * 8),
                     [r15] "i"(REG_R15 * 8), [rsp] "i"(REG_RSP * 8), [rip] "i"(REG_RIP * 8)
                   : "rax", "memory");
}

/*
 * Publish that `self` is about to block in `call` on `object`. Returns false
 * (and publishes nothing) for a nested wait, e.g. from a signal handler that
 * interrupted another wait: the outer one stays the one reported.
 * Must be inlined into the wrapper, so the saved context is in a frame that
 * lives until lw_wait_end().
 */
static LW_ALWAYS_INLINE bool lw_wait_begin(lw_thread *self, enum lw_call call, const void *object,
                                           const void *mutex, bool timed, uint32_t target_id) {
  lw_wait *wait = &self->wait;
  if (atomic_load_explicit(&wait->state, memory_order_relaxed) != LW_WAIT_IDLE)
    return false;
  lw_capture_registers(&wait->context);
  wait->call = (uint16_t)call;
  wait->object = object;
  wait->mutex = mutex;
  wait->timed = timed;
  wait->target_id = target_id;
  wait->start_ns = lw_start_stamp_ns();
  wait->seq++;
  atomic_store_explicit(&wait->state, LW_WAIT_ACTIVE, memory_order_release);
  lw_watcher_wait_began(self);
  return true;
}

/* The wait is over (however it ended). Waits while a report is reading it. */
void lw_wait_end_slow(lw_thread *self);

static LW_ALWAYS_INLINE void lw_wait_end(lw_thread *self, bool began) {
  if (!began)
    return;
  uint32_t expected = LW_WAIT_ACTIVE;
  if (!atomic_compare_exchange_strong_explicit(&self->wait.state, &expected, LW_WAIT_IDLE,
                                               memory_order_acq_rel, memory_order_relaxed))
    lw_wait_end_slow(self);
}

/* At the end of `t`, on its own thread: a wait it died in (cancelled, with
 * our cleanup skipped by the unwinder) is ended, and the mutex glibc gave
 * back to a cancelled condition variable wait is listed as held again if
 * the thread still owns it. */
void lw_wait_settle_at_exit(lw_thread *t);

/* pthread_cleanup handler form of lw_wait_end, for cancellation points. */
void lw_wait_end_cleanup(void *self);

#endif
