/*
 * report_text.c - the report as text, sanitizer-style: one block per finding,
 * the thread in one line a user can act on, then its stacks.
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"

void lw_report_text_describe_thread(lw_buf *out, const lw_report_thread *t) {
  lw_buf_printf(out, "T%u", t->id);
  if (t->name && *t->name) {
    lw_buf_puts(out, " '");
    lw_buf_text(out, t->name, false);
    lw_buf_puts(out, "'");
  }
  if (t->start) {
    lw_buf_puts(out, " (");
    lw_buf_text(out, t->start, false);
    lw_buf_puts(out, ")");
  } else if (t->is_main)
    lw_buf_puts(out, " (main thread)");
}

/* "#3  0x55d0c0a01234 in worker src/app.c:42", or function+offset (module),
 * or (module+offset): the one frame format of every report. */
static void write_frame(lw_buf *out, const char *indent, uint32_t index, const lw_frame *f) {
  lw_buf_printf(out, "%s#%-2u 0x%012" PRIxPTR " in ", indent, index, f->pc);
  const char *module = f->module ? f->module : "?";
  if (f->function) {
    lw_buf_text(out, f->function, false);
    if (f->file && f->line > 0) {
      lw_buf_puts(out, " ");
      lw_buf_text(out, f->file, false);
      lw_buf_printf(out, ":%d%s", f->line, f->inlined ? " (inlined)" : "");
    } else {
      lw_buf_printf(out, "+0x%" PRIx64 " (", f->offset);
      lw_buf_text(out, module, false);
      lw_buf_puts(out, ")");
    }
  } else {
    lw_buf_puts(out, "(");
    lw_buf_text(out, module, false);
    lw_buf_printf(out, "+0x%" PRIx64 ")", f->offset);
  }
  lw_buf_puts(out, "\n");
}

/* Runs of two or more standard-library frames (std::__invoke_impl,
 * std::thread::_Invoker, allocator and vector internals, libstdc++ itself)
 * are one line: "#3-#7 … 5 frames in std::". The JSON keeps every frame. */
static void write_frames(lw_buf *out, const lw_frames *frames, const char *indent) {
  if (frames->count == 0) {
    lw_buf_printf(out, "%s(no stack)\n", indent);
    return;
  }
  for (uint32_t i = 0; i < frames->count; i++) {
    uint32_t end = i;
    while (end < frames->count && lw_report_frame_is_std(&frames->frames[end]))
      end++;
    if (end - i >= 2) {
      lw_buf_printf(out, "%s#%u-#%u \xe2\x80\xa6 %u frames in std::\n", indent, i, end - 1,
                    end - i);
      i = end - 1;
      continue;
    }
    write_frame(out, indent, i, &frames->frames[i]);
  }
}

/* "0x55d0c0de1040", or "0x55d0c0de1040 (queue_lock)" with a name. */
static void write_object(lw_buf *out, const void *object, const char *name) {
  lw_buf_printf(out, "0x%" PRIxPTR, (uintptr_t)object);
  if (name) {
    lw_buf_puts(out, " (");
    lw_buf_text(out, name, false);
    lw_buf_puts(out, ")");
  }
}

/* A finding's evidence, each event under a heading that says what it is.
 * Stacks that are their thread's are in the thread's block instead; what
 * a wait's event adds to it is said in a line. */
static void write_events(lw_buf *out, const lw_finding *f) {
  for (uint32_t i = 0; i < f->nevents; i++) {
    const lw_report_event *e = &f->events[i];
    const char *indent = "    ";
    switch (e->role) {
    case LW_EVENT_WAITS:
      if (e->owner_unlisted) {
        lw_buf_printf(out, "  T%u owns %s ", e->owner, e->object_kind ? e->object_kind : "lock");
        write_object(out, e->object, e->object_name);
        lw_buf_printf(out,
                      " (glibc's owner field says so) but does not list it: leakwatch keeps %u "
                      "held locks a thread, so where it took this one, and its stack, are not "
                      "known\n",
                      (unsigned)LW_HELD_MAX);
      }
      continue;
    case LW_EVENT_HELD:
      lw_buf_printf(out, "  edge %u of the cycle, in T%u: holding ", e->edge, e->thread);
      write_object(out, e->object, e->object_name);
      lw_buf_puts(out, ", taken at:\n");
      indent = "      ";
      break;
    case LW_EVENT_TAKEN:
      if (e->of_thread)
        continue; /* an abandoned lock: in its thread's block */
      lw_buf_puts(out, "    took ");
      write_object(out, e->object, e->object_name);
      lw_buf_puts(out, " at:\n");
      indent = "      ";
      break;
    case LW_EVENT_CALL:
      lw_buf_puts(out, "  the call:\n");
      break;
    case LW_EVENT_EARLIER:
      lw_buf_puts(out, "  ");
      lw_buf_text(out, e->label ? e->label : "before", false);
      lw_buf_puts(out, ":\n");
      break;
    default:
      continue;
    }
    write_frames(out, &e->stack, indent);
  }
}

static void write_duration(lw_buf *out, uint64_t ms) {
  if (ms < 1000)
    lw_buf_printf(out, "%" PRIu64 " ms", ms);
  else
    lw_buf_printf(out, "%.1f s", (double)ms / 1000.0);
}

/* For a condition variable or semaphore: who could still wake it. */
static void write_evidence(lw_buf *out, const lw_report *r, const lw_report_wait *w) {
  if (w->evidence == 1) {
    lw_buf_puts(out, " (no thread has ever signalled or posted it)");
  } else if (w->evidence == 2) {
    const lw_report_thread *by = lw_report_thread_by_id((lw_report *)r, w->signalled_by);
    lw_buf_puts(out, " (last signalled by ");
    if (by) {
      lw_report_text_describe_thread(out, by);
      if (by->state == LW_STATE_EXITED)
        lw_buf_puts(out, ", which has exited");
    } else {
      lw_buf_printf(out, "T%u, which has exited", w->signalled_by);
    }
    lw_buf_puts(out, ")");
  }
}

/* "  T0 (main thread) last signalled it once, with pthread_cond_signal at
 * pool.c:88, while 3 threads waited:" and that call's stack: a signal that
 * should have been a broadcast, or one made while nobody waited yet. */
static void write_last_signal(lw_buf *out, const lw_report *r, const lw_report_wait *w) {
  if (w->evidence != 2 /* LW_EVIDENCE_LAST */ || !w->signal_call)
    return;
  const lw_report_thread *by = lw_report_thread_by_id((lw_report *)r, w->signalled_by);
  bool post = strcmp(w->signal_call, "sem_post") == 0;
  lw_buf_puts(out, "  ");
  if (by) {
    lw_report_text_describe_thread(out, by);
    if (by->state == LW_STATE_EXITED)
      lw_buf_puts(out, ", which has exited,");
  } else {
    lw_buf_printf(out, "T%u, which has exited,", w->signalled_by);
  }
  lw_buf_printf(out, " last %s it", post ? "posted" : "signalled");
  if (w->signal_count == 1)
    lw_buf_puts(out, " once");
  else if (w->signal_count > 1)
    lw_buf_printf(out, " (%u %s in all)", w->signal_count, post ? "posts" : "wake-ups");
  lw_buf_printf(out, ", with %s", w->signal_call);
  const lw_frame *site = w->signal_stack.count ? &w->signal_stack.frames[0] : NULL;
  if (site && site->file && site->line > 0) {
    lw_buf_puts(out, " at ");
    lw_buf_text(out, site->file, false);
    lw_buf_printf(out, ":%d", site->line);
  } else if (site && site->function) {
    lw_buf_puts(out, " in ");
    lw_buf_text(out, site->function, false);
  }
  if (w->signal_waiters == 0)
    lw_buf_puts(out, ", while no thread waited:\n");
  else
    lw_buf_printf(out, ", while %u thread%s waited:\n", w->signal_waiters,
                  w->signal_waiters == 1 ? "" : "s");
  write_frames(out, &w->signal_stack, "    ");
}

/* "in read on fd 3 (pipe:[4711])", "in epoll_wait on fd 5 (anon_inode:[eventpoll]), timeout
 * 1.0 s", "in nanosleep, timeout 10 s", "in wait4 for pid 123": a system call leakwatch does not
 * wrap. */
static void write_syscall(lw_buf *out, const lw_report_syscall *c) {
  if (c->name)
    lw_buf_printf(out, "in %s", c->name);
  else
    lw_buf_printf(out, "in system call %ld", c->number);
  if (c->fd >= 0) {
    lw_buf_printf(out, " on fd %d", c->fd);
    if (c->fd_target) {
      lw_buf_puts(out, " (");
      lw_buf_text(out, c->fd_target, false);
      lw_buf_puts(out, ")");
    }
  }
  if (c->pid > 0)
    lw_buf_printf(out, " for pid %" PRId64, c->pid);
  else if (c->pid < 0)
    lw_buf_puts(out, " for any child");
  if (c->timeout_ms >= 0) {
    lw_buf_puts(out, ", timeout ");
    write_duration(out, (uint64_t)c->timeout_ms);
  }
}

/* "blocked in pthread_cond_wait on 0x… (mutex 0x…) for 2.4 s, holding nothing" */
static void write_state_line(lw_buf *out, const lw_report *r, const lw_report_thread *t) {
  if (t->state == LW_STATE_EXITED) {
    lw_buf_puts(out, "finished ");
    write_duration(out, t->ended_ms_ago);
    lw_buf_puts(out, " ago, never joined");
    return;
  }
  if (t->has_wait) {
    const lw_report_wait *w = &t->wait;
    lw_buf_printf(out, "%s in %s", w->timed ? "waiting (timed)" : "blocked", w->call);
    if (w->through) {
      lw_buf_puts(out, " (");
      lw_buf_text(out, w->through, false);
      lw_buf_puts(out, ")");
    }
    lw_buf_puts(out, " on ");
    write_object(out, w->object, lw_calls_is_join(w->call_id) ? NULL : w->object_name);
    if (w->mutex) {
      lw_buf_puts(out, " (mutex ");
      write_object(out, w->mutex, w->mutex_name);
      lw_buf_puts(out, ")");
    }
    if (w->has_owner) {
      lw_report_thread *owner = lw_report_thread_by_id((lw_report *)r, w->owner);
      lw_buf_puts(out, lw_calls_is_join(w->call_id) ? ", waiting for " : ", owned by ");
      if (owner)
        lw_report_text_describe_thread(out, owner);
      else
        lw_buf_printf(out, "T%u", w->owner);
      /* What the owner is doing: the next thing an on-call engineer asks. */
      if (owner && owner != t) {
        if (owner->state == LW_STATE_EXITED)
          lw_buf_puts(out, " (exited)");
        else if (owner->has_wait)
          lw_buf_printf(out, " (itself %s in %s on 0x%" PRIxPTR ")",
                        owner->wait.timed ? "waiting" : "blocked", owner->wait.call,
                        (uintptr_t)owner->wait.object);
        else
          lw_buf_puts(out, " (running)");
      }
    } else if (w->owner_tid) {
      lw_buf_printf(out, ", owned by another process (thread %d of pid %d)", w->owner_tid,
                    w->owner_pid);
    }
    if (strcmp(r->trigger, "attach") != 0) { /* an attach cannot know since when */
      lw_buf_puts(out, " for ");
      write_duration(out, w->waited_ms);
    }
    write_evidence(out, r, w);
  } else if (t->syscall.where == LW_WHERE_SYSCALL) {
    write_syscall(out, &t->syscall);
  } else if (t->syscall.where == LW_WHERE_USER) {
    lw_buf_puts(out, "running");
  } else {
    lw_buf_puts(out, "running (or in a call leakwatch does not see)");
  }
  if (t->nheld == 0) {
    lw_buf_puts(out, ", holding nothing");
  } else {
    lw_buf_puts(out, ", holding");
    for (uint32_t i = 0; i < t->nheld; i++) {
      lw_buf_puts(out, i ? ", " : " ");
      write_object(out, t->held[i].object, t->held[i].object_name);
    }
  }
}

static void write_thread_block(lw_buf *out, const lw_report *r, const lw_report_thread *t) {
  if (t->gone) {
    lw_buf_printf(out, "  T%u: ended and joined before this report\n", t->id);
    return;
  }
  lw_buf_puts(out, "  ");
  lw_report_text_describe_thread(out, t);
  lw_buf_printf(out, ", tid %d", t->tid);
  if (t->detached)
    lw_buf_puts(out, ", detached");
  lw_buf_puts(out, ": ");
  write_state_line(out, r, t);
  lw_buf_puts(out, "\n");
  if (t->has_wait) {
    lw_buf_puts(out, "  blocking stack:\n");
    write_frames(out, &t->wait.stack, "    ");
    write_last_signal(out, r, &t->wait);
  } else if (t->state == LW_STATE_RUNNING) {
    lw_buf_puts(out, "  current stack:\n");
    write_frames(out, &t->stack, "    ");
  }
  for (uint32_t i = 0; i < t->nheld; i++) {
    const lw_report_held *h = &t->held[i];
    lw_buf_puts(out, "  holds ");
    write_object(out, h->object, h->object_name);
    lw_buf_printf(out, ", taken by %s%s:\n", h->call, h->stack_partial ? " (call site only)" : "");
    write_frames(out, &h->stack, "    ");
  }
  if (t->adopted && strcmp(r->trigger, "attach") == 0) {
    /* its creation is unknown: the note at the top says why, once */
  } else if (t->adopted) {
    lw_buf_puts(
        out, "  created outside leakwatch's sight (before it started, or not by pthread_create)\n");
  } else if (!t->is_main) {
    lw_buf_puts(out, "  created by ");
    lw_report_thread *parent =
        t->has_parent ? lw_report_thread_by_id((lw_report *)r, t->parent) : NULL;
    if (parent)
      lw_report_text_describe_thread(out, parent);
    else
      lw_buf_printf(out, "T%u", t->parent);
    lw_buf_puts(out, " at:\n");
    write_frames(out, &t->create_stack, "    ");
  }
}

/* What the summary line says made the report: its trigger, or for a live
 * report of findings of one kind, that kind (SUMMARY (long_wait), not
 * SUMMARY (deadlock), for the helper thread's report of long waits). */
static const char *summary_label(const lw_report *r) {
  if (strcmp(r->trigger, "deadlock") != 0 || r->nfindings == 0)
    return r->trigger;
  for (uint32_t i = 1; i < r->nfindings; i++)
    if (r->findings[i].kind != r->findings[0].kind)
      return r->trigger;
  return lw_finding_kind_name(r->findings[0].kind);
}

void lw_report_text_write(lw_buf *out, const lw_report *r) {
  /* An attach (leakwatch-inspect) is a dump made from outside. */
  bool dump = strcmp(r->trigger, "dump") == 0 || strcmp(r->trigger, "attach") == 0;
  if (dump) {
    /* A dump shows every thread, then what is wrong. */
    uint32_t alive = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
      alive += r->threads[i].state != LW_STATE_EXITED;
    lw_buf_printf(out, "==%d== leakwatch: dump of ", r->pid);
    lw_buf_text(out, r->exe ? r->exe : "?", false);
    lw_buf_printf(out, " (pid %d), %u threads, up %.1f s\n\n", r->pid, alive,
                  (double)r->uptime_ms / 1000.0);
    if (r->note)
      lw_buf_printf(out, "==%d== leakwatch: %s\n\n", r->pid, r->note);
    for (uint32_t i = 0; i < r->nthreads; i++) {
      write_thread_block(out, r, &r->threads[i]);
      lw_buf_puts(out, "\n");
    }
  }
  for (uint32_t i = 0; i < r->nfindings; i++) {
    const lw_finding *f = &r->findings[i];
    if (f->shown_live && !dump)
      continue; /* printed when it happened; counted in the summary below */
    /* Messages and details quote names from the program: one line each,
     * no control characters. */
    lw_buf_printf(out, "==%d== leakwatch: %s: ", r->pid, lw_finding_kind_name(f->kind));
    lw_buf_text(out, f->message ? f->message : "", false);
    lw_buf_puts(out, "\n");
    write_events(out, f);
    if (f->subject && !dump)
      write_thread_block(out, r, f->subject);
    else if (f->all_threads_shown && !dump)
      for (uint32_t k = 0; k < f->nthreads; k++) {
        const lw_report_thread *t = lw_report_thread_by_id((lw_report *)r, f->threads[k]);
        if (t)
          write_thread_block(out, r, t);
      }
    lw_buf_puts(out, "\n");
  }
  if (r->nfindings == 0 && r->suppressed == 0 && !dump)
    return;
  /* Summary: totals per kind, in order of first appearance. */
  lw_buf_printf(out, "==%d== leakwatch: SUMMARY (%s): ", r->pid, summary_label(r));
  uint32_t total = 0;
  for (uint32_t i = 0; i < r->nfindings; i++)
    total += r->findings[i].count;
  lw_buf_printf(out, "%u finding%s", total, total == 1 ? "" : "s");
  uint32_t per_kind[LW_FINDING_COUNT] = {0};
  for (uint32_t i = 0; i < r->nfindings; i++)
    per_kind[r->findings[i].kind] += r->findings[i].count;
  uint32_t nshown = 0;
  for (uint32_t i = 0; i < r->nfindings; i++) { /* in order of first appearance */
    lw_finding_kind kind = r->findings[i].kind;
    if (per_kind[kind] == 0)
      continue;
    lw_buf_printf(out, "%s %u %s", nshown++ == 0 ? ":" : ",", per_kind[kind],
                  lw_finding_kind_name(kind));
    per_kind[kind] = 0;
  }
  if (r->suppressed)
    lw_buf_printf(out, "; %u suppressed", r->suppressed);
  lw_buf_puts(out, "\n");
}
