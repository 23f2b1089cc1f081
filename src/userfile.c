/*
 * userfile.c - opening the files a user names, and knowing whether fd 2 is
 * still stderr (see userfile.h for the rule).
 *
 * Every check is made on what was opened (fstat of the descriptor), not only
 * on the name, so a file swapped between the look and the open is refused
 * rather than written. The one window left is the rename of a replaced
 * document: the path is looked at again just before, and a rename only ever
 * lands on a regular file of ours or on nothing.
 */
#define _GNU_SOURCE
#include "userfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "mem.h"

/* fd 1 and 2 as the process started with them; valid false if closed. */
static struct {
  bool valid;
  dev_t dev;
  ino_t ino;
} std_identity[3];
static _Atomic int std_saved;

void lw_userfile_init(void) {
  for (int fd = 1; fd <= 2; fd++) {
    struct stat st;
    std_identity[fd].valid = fstat(fd, &st) == 0;
    std_identity[fd].dev = std_identity[fd].valid ? st.st_dev : 0;
    std_identity[fd].ino = std_identity[fd].valid ? st.st_ino : 0;
  }
  atomic_store(&std_saved, 1);
}

bool lw_userfile_std_intact(int fd) {
  if (fd != 1 && fd != 2)
    return false;
  /* A diagnostic before start-up (another library's constructor): what is
   * there now is what the process started with. */
  if (!atomic_load(&std_saved))
    lw_userfile_init();
  struct stat st;
  return std_identity[fd].valid && fstat(fd, &st) == 0 && st.st_dev == std_identity[fd].dev &&
         st.st_ino == std_identity[fd].ino;
}

static bool refuse(lw_userfile *f, const char *why) {
  snprintf(f->why, sizeof f->why, "%s", why);
  if (f->fd >= 0 && !f->borrowed)
    close(f->fd);
  f->fd = -1;
  return false;
}

static bool refuse_errno(lw_userfile *f, int error) { return refuse(f, strerror(error)); }

/* The name of a descriptor the process already has: 1, 2, or 0 for none. */
static int std_name(const char *path) {
  static const struct {
    const char *name;
    int fd;
  } names[] = {{"/dev/stdout", 1}, {"/dev/fd/1", 1}, {"/proc/self/fd/1", 1},
               {"/dev/stderr", 2}, {"/dev/fd/2", 2}, {"/proc/self/fd/2", 2}};
  for (size_t i = 0; i < LW_ARRAY_SIZE(names); i++)
    if (strcmp(path, names[i].name) == 0)
      return names[i].fd;
  return 0;
}

static const char *kind_of(mode_t mode) {
  if (S_ISLNK(mode))
    return "a symbolic link";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  return "not a regular file";
}

/* Is what fd opened the very file lstat saw? */
static bool same_file(int fd, const struct stat *seen) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == seen->st_dev && st.st_ino == seen->st_ino &&
         (st.st_mode & S_IFMT) == (seen->st_mode & S_IFMT);
}

static bool owned_regular(lw_userfile *f, const struct stat *st) {
  if (st->st_uid != geteuid()) {
    char why[96];
    snprintf(why, sizeof why, "owned by uid %u, not by this process's user (uid %u)",
             (unsigned)st->st_uid, (unsigned)geteuid());
    return refuse(f, why);
  }
  return true;
}

static bool open_temporary(lw_userfile *f) {
  if ((size_t)snprintf(f->temp, sizeof f->temp, "%s.tmp.%d", f->path, getpid()) >= sizeof f->temp)
    return refuse(f, "the path is too long");
  unlink(f->temp); /* left by an earlier process with our pid, killed mid-write */
  f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f->fd < 0) {
    int error = errno;
    f->temp[0] = '\0';
    return refuse_errno(f, error);
  }
  return true;
}

bool lw_userfile_open(lw_userfile *f, const char *option, const char *path,
                      enum lw_userfile_mode mode) {
  memset(f, 0, sizeof *f);
  f->fd = -1;
  f->option = option;
  if ((size_t)snprintf(f->path, sizeof f->path, "%s", path) >= sizeof f->path)
    return refuse(f, "the path is too long");
  int std = std_name(path);
  if (std) {
    if (!lw_userfile_std_intact(std))
      return refuse(f, std == 1 ? "fd 1 is no longer the stdout the program started with"
                                : "fd 2 is no longer the stderr the program started with");
    f->fd = std;
    f->borrowed = true;
    return true;
  }
  const int write_flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct stat st;
    if (lstat(path, &st) != 0) {
      if (errno != ENOENT)
        return refuse_errno(f, errno);
      if (mode == LW_USERFILE_REPLACE)
        return open_temporary(f);
      f->fd = open(path, write_flags | O_APPEND | O_CREAT | O_EXCL, 0600);
      if (f->fd >= 0)
        return true;
      if (errno == EEXIST)
        continue; /* created meanwhile: look at what it is */
      return refuse_errno(f, errno);
    }
    if (S_ISREG(st.st_mode)) {
      if (!owned_regular(f, &st))
        return false;
      if (mode == LW_USERFILE_REPLACE)
        return open_temporary(f);
      f->fd = open(path, write_flags | O_APPEND);
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
      /* Written in place. O_NONBLOCK: a FIFO nobody reads is ENXIO, not a
       * hang at exit. */
      f->fd = open(path, write_flags);
      if (f->fd < 0 && errno == ENXIO)
        return refuse(f, "a FIFO nobody reads");
    } else {
      return refuse(f, kind_of(st.st_mode));
    }
    if (f->fd < 0)
      return refuse_errno(f, errno);
    if (!same_file(f->fd, &st))
      return refuse(f, "the file changed while it was opened");
    return true;
  }
  return refuse(f, "the file changed while it was opened");
}

bool lw_userfile_write(lw_userfile *f, const void *buf, size_t len) {
  if (f->fd < 0)
    return false;
  if (lw_write_all(f->fd, buf, len))
    return true;
  if (!f->why[0])
    snprintf(f->why, sizeof f->why, "%s",
             errno == ETIMEDOUT ? "no progress for 5 s (nobody reads it?)" : strerror(errno));
  return false;
}

bool lw_userfile_close(lw_userfile *f, bool ok) {
  if (f->fd < 0)
    return false;
  if (!f->borrowed && close(f->fd) != 0 && ok) {
    snprintf(f->why, sizeof f->why, "%s", strerror(errno));
    ok = false;
  }
  f->fd = -1;
  if (!f->temp[0])
    return ok;
  if (ok) {
    /* Rename only over a regular file of ours, or over nothing. */
    struct stat st;
    if (lstat(f->path, &st) == 0) {
      if (!S_ISREG(st.st_mode)) {
        snprintf(f->why, sizeof f->why, "%s appeared at the path", kind_of(st.st_mode));
        ok = false;
      } else if (!owned_regular(f, &st)) {
        ok = false;
      }
    }
    if (ok && rename(f->temp, f->path) != 0) {
      snprintf(f->why, sizeof f->why, "%s", strerror(errno));
      ok = false;
    }
  }
  if (!ok)
    unlink(f->temp);
  f->temp[0] = '\0';
  return ok;
}

char *lw_userfile_read(const char *option, const char *path, size_t cap, size_t *len, size_t *size,
                       bool *truncated) {
  *len = *size = 0;
  *truncated = false;
  /* O_NONBLOCK: opening a FIFO nobody writes must not hang start-up. A
   * symbolic link is followed: reading through one harms nobody. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  const char *why = NULL;
  if (fd < 0)
    why = strerror(errno);
  else if (fstat(fd, &st) != 0)
    why = strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = kind_of(st.st_mode);
  if (why) {
    lw_warn("cannot read %s '%s' (%s); not used", option, path, why);
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  size_t want = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
  *size = want + 1;
  char *text = lw_mem_alloc(*size);
  ssize_t got = 0;
  while (text && *len < want && (got = read(fd, text + *len, want - *len)) != 0) {
    if (got < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    *len += (size_t)got;
  }
  if (text && got >= 0 && *len == cap) {
    char probe;
    *truncated = read(fd, &probe, 1) > 0;
  }
  close(fd);
  if (!text || got < 0) {
    lw_warn("cannot read %s '%s' (%s); not used", option, path,
            text ? strerror(errno) : "out of memory");
    if (text)
      lw_mem_free(text, *size);
    return NULL;
  }
  text[*len] = '\0';
  return text;
}
