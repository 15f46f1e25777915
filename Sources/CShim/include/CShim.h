#ifndef TEARDOWN_CSHIM_H
#define TEARDOWN_CSHIM_H

/* The few Linux calls Glibc does not expose to Swift: eventfd, the variadic
 * ioctl requests for queue sizes, and gettid. Every symbol is prefixed td_. */

#include <stdint.h>
#include <sys/types.h>

/* eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK; returns -1 and sets errno on failure. */
int td_eventfd(void);

/* Bytes in the send queue not yet acknowledged by the peer (SIOCOUTQ). */
int td_unacked_bytes(int fd, int *count);

/* Bytes in the receive queue not yet read by the application (FIONREAD). */
int td_unread_bytes(int fd, int *count);

/* The kernel thread id of the calling thread. */
pid_t td_gettid(void);

/* The TCP state of a socket from TCP_INFO (TCP_ESTABLISHED = 1 ... TCP_CLOSE = 7). */
int td_tcp_state(int fd, int *state);

/* accept4(2), which Glibc declares only with _GNU_SOURCE. */
int td_accept4(int fd, void *address, unsigned int *length, int flags);

/* Names the calling thread, as ps and /proc/self/task/TID/comm show it (at most 15 bytes). */
void td_set_thread_name(const char *name);

/* The number of the futex system call, to tell a lock wait from a pending socket call. */
int td_futex_syscall(void);

/* Sets the loopback interface up (SIOCSIFFLAGS), as `ip link set lo up` does: a new network
 * namespace starts with lo down. Returns -1 and sets errno on failure. */
int td_loopback_up(void);

/* The provider call the calling thread is in, for the crash report (a string that lives forever). */
void td_set_current_call(const char *name);

/* pipe2(ends, O_CLOEXEC): a pipe no child started meanwhile inherits. */
int td_pipe_cloexec(int ends[2]);

/* Starts `path` with `argv` (NULL-terminated) and the environment, its standard input, output and error on `in`,
   `out` and `err`, and no other descriptor of this process (posix_spawn, closing from 3 in the child). Returns 0
   and the child's pid, or an errno value. */
int td_spawn(const char *path, char *const argv[], int in, int out, int err, pid_t *pid);

/* As td_spawn, and tied to the calling thread: the child is killed (SIGKILL) when that thread ends, however this
   process ends. fork + exec, as posix_spawn cannot ask for PR_SET_PDEATHSIG. Returns 0 or an errno value. */
int td_spawn_tied(const char *path, char *const argv[], int in, int out, int err, pid_t *pid);

/* A copy, in this process, of descriptor `fd` of process `pid` (pidfd_getfd(2)); -1 with errno when it cannot be had. */
int td_foreign_descriptor(pid_t pid, int fd);

/* The harness's payload pattern (see Payload in the Harness module): writes `count` bytes of it, from position
   `offset`, into `out`; td_payload_matches says whether `bytes` are that stretch of it. In C because the harness
   makes and checks megabytes of it per case, in debug builds too. */
void td_payload(uint8_t *out, size_t count, uint8_t seed, size_t offset);
int td_payload_matches(const uint8_t *bytes, size_t count, uint8_t seed, size_t offset);

/* In a worker process: on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, writes
 * "teardown-worker: signal N in CALL" to standard error, then dies of the signal. */
void td_install_crash_reporter(void);

/* Standard output line by line (setvbuf _IOLBF), so that a log read without a terminal holds every
 * finished line even if the process dies; and a flush of what is buffered. */
void td_line_buffer_stdout(void);
void td_flush_stdout(void);

#endif
