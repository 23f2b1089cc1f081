/*
 * firstcall.h - the scenarios of tests/test_firstcall.py: each wrapped
 * function of the shim called once, as the very first call into the shim.
 *
 * The scenarios live in libfirstcall_scenarios.so, a DT_NEEDED dependency of
 * the firstcall executable, so that the library's constructor runs before
 * the preloaded shim's. The executable calls in from its .preinit_array and
 * its constructor. FIRSTCALL_PHASE (library, preinit, constructor) says
 * where the call is made, FIRSTCALL_SCENARIO (a wrapped function's name)
 * which one.
 */
#ifndef FIRSTCALL_H
#define FIRSTCALL_H

/* Run the scenario FIRSTCALL_SCENARIO if FIRSTCALL_PHASE is `phase`; both
 * are read from `envp` (the environment vector an initialiser is given). */
void firstcall_phase(const char *phase, char **envp);

/* Print the scenario names, one a line. */
void firstcall_list(void);

#endif
