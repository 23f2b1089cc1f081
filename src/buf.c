/*
 * buf.c - growable text buffer backed by mem.c (never the program's malloc).
 */
#define _GNU_SOURCE
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

static bool reserve(lw_buf *buf, size_t extra) {
  if (buf->failed)
    return false;
  if (buf->len + extra + 1 <= buf->capacity)
    return true;
  size_t capacity = buf->capacity ? buf->capacity : 4096;
  while (capacity < buf->len + extra + 1)
    capacity *= 2;
  char *data = lw_mem_alloc(capacity);
  if (!data) {
    buf->failed = true;
    return false;
  }
  if (buf->data) {
    memcpy(data, buf->data, buf->len);
    lw_mem_free(buf->data, buf->capacity);
  }
  buf->data = data;
  buf->capacity = capacity;
  buf->data[buf->len] = '\0';
  return true;
}

void lw_buf_append(lw_buf *buf, const char *text, size_t len) {
  if (!reserve(buf, len))
    return;
  memcpy(buf->data + buf->len, text, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

void lw_buf_puts(lw_buf *buf, const char *text) { lw_buf_append(buf, text, strlen(text)); }

void lw_buf_printf(lw_buf *buf, const char *fmt, ...) {
  char small[512];
  va_list args;
  va_start(args, fmt);
  int len = vsnprintf(small, sizeof small, fmt, args);
  va_end(args);
  if (len < 0)
    return;
  if ((size_t)len < sizeof small) {
    lw_buf_append(buf, small, (size_t)len);
    return;
  }
  if (!reserve(buf, (size_t)len))
    return;
  va_start(args, fmt);
  vsnprintf(buf->data + buf->len, (size_t)len + 1, fmt, args);
  va_end(args);
  buf->len += (size_t)len;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static int utf8_length(const unsigned char *p) {
  int length = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
  if (p[0] >= 0xf8 || length == 0)
    return 0;
  for (int i = 1; i < length; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return length;
}

/* U+0080..U+009F, encoded: C1 control characters (0x9b is a terminal's CSI). */
static bool c1_control(const unsigned char *p) { return p[0] == 0xc2 && p[1] < 0xa0; }

void lw_buf_text(lw_buf *buf, const char *text, bool keep_newlines) {
  const unsigned char *p = (const unsigned char *)text, *run = p;
  for (; *p; p++) {
    int length = *p < 0x80 ? 1 : utf8_length(p);
    bool control = (*p < 0x20 && !(keep_newlines && *p == '\n')) || *p == 0x7f || length == 0 ||
                   (length == 2 && c1_control(p));
    if (!control) {
      p += length - 1;
      continue;
    }
    lw_buf_append(buf, (const char *)run, (size_t)(p - run));
    if (length == 2) /* a C1 control: its code point, as a byte */
      p++;
    lw_buf_printf(buf, "\\x%02x", *p);
    run = p + 1;
  }
  lw_buf_append(buf, (const char *)run, (size_t)(p - run));
}

void lw_buf_json_string(lw_buf *buf, const char *text) {
  if (!text) {
    lw_buf_puts(buf, "null");
    return;
  }
  lw_buf_append(buf, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    switch (*p) {
    case '"':
      lw_buf_puts(buf, "\\\"");
      break;
    case '\\':
      lw_buf_puts(buf, "\\\\");
      break;
    case '\n':
      lw_buf_puts(buf, "\\n");
      break;
    case '\t':
      lw_buf_puts(buf, "\\t");
      break;
    case '\r':
      lw_buf_puts(buf, "\\r");
      break;
    default:
      if (*p < 0x20 || *p == 0x7f) {
        lw_buf_printf(buf, "\\u%04x", *p);
      } else if (*p < 0x80) {
        lw_buf_append(buf, (const char *)p, 1);
      } else {
        /* Names come from programs: a byte that is not UTF-8 is written
         * as the code point of the same value, so the JSON stays valid. */
        int length = utf8_length(p);
        if (length == 2 && c1_control(p)) {
          lw_buf_printf(buf, "\\u%04x", p[1]); /* U+0080..U+009F: C1 controls */
          p++;
        } else if (length) {
          lw_buf_append(buf, (const char *)p, (size_t)length);
          p += length - 1;
        } else {
          lw_buf_printf(buf, "\\u%04x", *p);
        }
      }
    }
  }
  lw_buf_append(buf, "\"", 1);
}

void lw_buf_free(lw_buf *buf) {
  if (buf->data)
    lw_mem_free(buf->data, buf->capacity);
  buf->data = NULL;
  buf->len = buf->capacity = 0;
}
