/*
 * buf.h - a growable text buffer on the shim's own memory, for reports.
 */
#ifndef LW_BUF_H
#define LW_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lw_buf {
  char *data;
  size_t len, capacity;
  bool failed; /* ran out of memory: the text is cut short */
} lw_buf;

void lw_buf_printf(lw_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lw_buf_append(lw_buf *buf, const char *text, size_t len);
void lw_buf_puts(lw_buf *buf, const char *text);
/* Text from the program (names, paths, messages) for a text report: every
 * control character (C0, DEL, C1, and bytes that are not UTF-8) written as
 * \xNN, so no name can move the cursor, clear a terminal or start a line
 * that looks like a report's; '\n' kept if keep_newlines. */
void lw_buf_text(lw_buf *buf, const char *text, bool keep_newlines);
/* A JSON string literal, quotes included; NULL writes null. */
void lw_buf_json_string(lw_buf *buf, const char *text);
void lw_buf_free(lw_buf *buf);

#endif
