/*
 * watcher.c - live detection: notified when a wait begins or ends.
 * (Live deadlock detection builds on these hooks.)
 */
#include "wait.h"

void lw_watch_wait_began(lw_thread *self) { (void)self; }
void lw_watch_wait_ended(lw_thread *self) { (void)self; }
