/* SPDX-License-Identifier: Apache-2.0 */
/* faultfs: a test-only LD_PRELOAD library that makes write, pwrite, fsync,
 * fdatasync, close, rename (renameat, renameat2) and ftruncate fail on command, as real disks fail where
 * tmpfs never does (EIO from fsync after the kernel lost dirty pages,
 * ENOSPC from close after delayed allocation, a rename that fails).
 *
 *   DARKDAQ_FAULTS="OP:ERRNO:N:MATCH[,OP:ERRNO:N:MATCH...]"
 *       the Nth call (from 1) of OP on a file whose path contains MATCH
 *       (ends with it, when MATCH ends with '$') fails once with ERRNO (a name: EIO, ENOSPC, EDQUOT, EROFS, EBADF,
 *       EPERM, or a number).  OP: write (also pwrite), fsync (also
 *       fdatasync), close, rename (also renameat and renameat2; MATCH
 *       against the source path), ftruncate (also ftruncate64).
 *   DARKDAQ_FAULTS_ARM=PATH   the rules count calls only while PATH exists,
 *       so a test arms a fault at the moment it chooses (mid-run).
 *   DARKDAQ_FAULTS_LOG=PATH   each fault injected appends a line
 *       "OP ERRNO PATH" there, so a test knows it took place.
 *
 * What a failing call does is what the kernel does: write, rename and
 * ftruncate do nothing; fsync and fdatasync sync and then report the error (the data's
 * fate is unknown to the caller, as after a real EIO); close closes the
 * descriptor and then reports the error.  Only files whose path matches are
 * looked at; every other call goes straight through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum op { OP_WRITE, OP_FSYNC, OP_CLOSE, OP_RENAME, OP_FTRUNCATE, OP_COUNT };

static const char *const s_op_names[OP_COUNT] = { "write", "fsync", "close", "rename",
                                                  "ftruncate" };

struct rule {
        enum op op;
        int err;
        unsigned long nth;              /* the call that fails */
        char match[256];
        _Atomic unsigned long calls;    /* matching calls so far */
};

#define MAX_RULES 16

static struct rule s_rules[MAX_RULES];
static int s_n_rules;
static unsigned s_ops;                  /* bit op: some rule has it */
static const char *s_arm, *s_log;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static ssize_t (*s_write)(int, const void *, size_t);
static ssize_t (*s_pwrite)(int, const void *, size_t, off_t);
static int (*s_fsync)(int);
static int (*s_fdatasync)(int);
static int (*s_close)(int);
static int (*s_rename)(const char *, const char *);
static int (*s_renameat)(int, const char *, int, const char *);
static int (*s_renameat2)(int, const char *, int, const char *, unsigned);
static int (*s_ftruncate)(int, off_t);
static int (*s_ftruncate64)(int, off64_t);

static int s_errno_of(const char *name)
{
        static const struct { const char *name; int err; } names[] = {
                { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
                { "EBADF", EBADF }, { "EPERM", EPERM }, { "EFBIG", EFBIG }, { "EINTR", EINTR },
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (!strcmp(name, names[i].name))
                        return names[i].err;
        return atoi(name);
}

static void s_init(void)
{
        s_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
        s_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
        s_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
        s_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
        s_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
        s_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
        s_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
        s_renameat2 = (int (*)(int, const char *, int, const char *, unsigned))
                dlsym(RTLD_NEXT, "renameat2");
        s_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
        s_ftruncate64 = (int (*)(int, off64_t))dlsym(RTLD_NEXT, "ftruncate64");
        s_arm = getenv("DARKDAQ_FAULTS_ARM");
        s_log = getenv("DARKDAQ_FAULTS_LOG");
        const char *spec = getenv("DARKDAQ_FAULTS");
        if (!spec)
                return;
        char *copy = strdup(spec), *save = NULL;
        for (char *r = copy ? strtok_r(copy, ",", &save) : NULL; r && s_n_rules < MAX_RULES;
             r = strtok_r(NULL, ",", &save)) {
                char op[16] = "", err[16] = "", match[256] = "";
                unsigned long nth = 0;
                if (sscanf(r, "%15[^:]:%15[^:]:%lu:%255[^,]", op, err, &nth, match) < 3)
                        continue;
                struct rule *x = &s_rules[s_n_rules];
                for (int o = 0; o < OP_COUNT; o++)
                        if (!strcmp(op, s_op_names[o]))
                                x->op = (enum op)o, x->err = s_errno_of(err);
                if (!x->err || !nth)
                        continue;
                x->nth = nth;
                snprintf(x->match, sizeof x->match, "%s", match);
                atomic_init(&x->calls, 0);
                s_ops |= 1u << x->op;
                s_n_rules++;
        }
        free(copy);
}

static bool s_matches(const char *path, const char *match)
{
        size_t n = strlen(match), len = strlen(path);
        if (n && match[n - 1] == '$')
                return len >= n - 1 && !memcmp(path + len - (n - 1), match, n - 1);
        return strstr(path, match) != NULL;
}

/* The errno this call of op on path fails with, or 0. */
static int s_fault(enum op op, const char *path)
{
        if (!(s_ops >> op & 1) || !path)
                return 0;
        if (s_arm && access(s_arm, F_OK) != 0)
                return 0;
        for (int i = 0; i < s_n_rules; i++) {
                struct rule *x = &s_rules[i];
                if (x->op != op || !s_matches(path, x->match))
                        continue;
                if (atomic_fetch_add(&x->calls, 1) + 1 != x->nth)
                        continue;
                if (s_log) {
                        int fd = open(s_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                        if (fd >= 0) {
                                char line[600];
                                int n = snprintf(line, sizeof line, "%s %d %s\n", s_op_names[op],
                                                 x->err, path);
                                if (n > 0)
                                        s_write(fd, line, (size_t)n < sizeof line ? (size_t)n
                                                                              : sizeof line - 1);
                                s_close(fd);
                        }
                }
                return x->err;
        }
        return 0;
}

/* The path of fd, or NULL (buf holds it). */
static const char *s_path(int fd, char *buf, size_t len)
{
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, buf, len - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        return buf;
}

static int s_fd_fault(enum op op, int fd)
{
        char buf[4096];
        pthread_once(&s_once, s_init);
        if (!(s_ops >> op & 1))
                return 0;
        return s_fault(op, s_path(fd, buf, sizeof buf));
}

ssize_t write(int fd, const void *b, size_t n)
{
        int e = s_fd_fault(OP_WRITE, fd);
        if (e) {
                errno = e;
                return -1;
        }
        return s_write(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
        int e = s_fd_fault(OP_WRITE, fd);
        if (e) {
                errno = e;
                return -1;
        }
        return s_pwrite(fd, b, n, off);
}

int fsync(int fd)
{
        int e = s_fd_fault(OP_FSYNC, fd);
        int r = s_fsync(fd);
        if (e) {
                errno = e;
                return -1;
        }
        return r;
}

int fdatasync(int fd)
{
        int e = s_fd_fault(OP_FSYNC, fd);
        int r = s_fdatasync(fd);
        if (e) {
                errno = e;
                return -1;
        }
        return r;
}

int close(int fd)
{
        int e = s_fd_fault(OP_CLOSE, fd);
        int r = s_close(fd);
        if (e) {
                errno = e;
                return -1;
        }
        return r;
}

int rename(const char *from, const char *to)
{
        pthread_once(&s_once, s_init);
        int e = s_fault(OP_RENAME, from);
        if (e) {
                errno = e;
                return -1;
        }
        return s_rename(from, to);
}

/* The path of name relative to dirfd, in buf. */
static const char *s_at_path(int dirfd, const char *name, char *buf, size_t len)
{
        if (name[0] == '/' || dirfd == AT_FDCWD)
                return name;
        char dir[4096];
        if (!s_path(dirfd, dir, sizeof dir))
                return name;
        snprintf(buf, len, "%s/%s", dir, name);
        return buf;
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
        char buf[8192];
        pthread_once(&s_once, s_init);
        int e = s_ops >> OP_RENAME & 1 ? s_fault(OP_RENAME, s_at_path(fromfd, from, buf,
                                                                      sizeof buf)) : 0;
        if (e) {
                errno = e;
                return -1;
        }
        return s_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
        char buf[8192];
        pthread_once(&s_once, s_init);
        int e = s_ops >> OP_RENAME & 1 ? s_fault(OP_RENAME, s_at_path(fromfd, from, buf,
                                                                      sizeof buf)) : 0;
        if (e) {
                errno = e;
                return -1;
        }
        return s_renameat2(fromfd, from, tofd, to, flags);
}

int ftruncate(int fd, off_t len)
{
        int e = s_fd_fault(OP_FTRUNCATE, fd);
        if (e) {
                errno = e;
                return -1;
        }
        return s_ftruncate(fd, len);
}

/* what programs built with large-file support call */
int ftruncate64(int fd, off64_t len)
{
        int e = s_fd_fault(OP_FTRUNCATE, fd);
        if (e) {
                errno = e;
                return -1;
        }
        return s_ftruncate64(fd, len);
}
