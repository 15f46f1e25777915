#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include "CShim.h"

#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int td_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int td_unacked_bytes(int fd, int *count) { return ioctl(fd, SIOCOUTQ, count); }

int td_unread_bytes(int fd, int *count) { return ioctl(fd, FIONREAD, count); }

pid_t td_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int td_tcp_state(int fd, int *state) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    *state = info.tcpi_state;
    return 0;
}

int td_futex_syscall(void) { return SYS_futex; }

int td_accept4(int fd, void *address, unsigned int *length, int flags) {
    return accept4(fd, (struct sockaddr *)address, (socklen_t *)length, flags);
}

void td_set_thread_name(const char *name) { pthread_setname_np(pthread_self(), name); }

int td_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    if (result == 0 && !(request.ifr_flags & IFF_UP)) {
        request.ifr_flags |= IFF_UP;
        result = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

static __thread const char *td_current_call_name;

void td_set_current_call(const char *name) { td_current_call_name = name; }

/* Only async-signal-safe calls: write(2) of a line built by hand, then the default action. */
static void td_crash_handler(int sig) {
    char line[160];
    size_t n = 0;
    const char *prefix = "teardown-worker: signal ";
    while (*prefix && n < sizeof line - 1) line[n++] = *prefix++;
    char digits[12];
    int d = 0, value = sig;
    do { digits[d++] = (char)('0' + value % 10); value /= 10; } while (value > 0 && d < 11);
    while (d > 0 && n < sizeof line - 1) line[n++] = digits[--d];
    const char *call = td_current_call_name;
    if (call) {
        const char *in = " in ";
        while (*in && n < sizeof line - 1) line[n++] = *in++;
        while (*call && n < sizeof line - 1) line[n++] = *call++;
    }
    line[n++] = '\n';
    ssize_t ignored = write(2, line, n);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

void td_install_crash_reporter(void) {
    int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = td_crash_handler;
        action.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

void td_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

void td_flush_stdout(void) { fflush(stdout); }

/* position * 7 + position / 251 + seed, modulo 256: a pattern without a short period. */
void td_payload(uint8_t *out, size_t count, uint8_t seed, size_t offset) {
    size_t quotient = offset / 251, remainder = offset % 251, position = offset;
    for (size_t i = 0; i < count; i++, position++) {
        out[i] = (uint8_t)(position * 7 + quotient + seed);
        if (++remainder == 251) {
            remainder = 0;
            quotient++;
        }
    }
}

int td_payload_matches(const uint8_t *bytes, size_t count, uint8_t seed, size_t offset) {
    size_t quotient = offset / 251, remainder = offset % 251, position = offset;
    for (size_t i = 0; i < count; i++, position++) {
        if (bytes[i] != (uint8_t)(position * 7 + quotient + seed)) return 0;
        if (++remainder == 251) {
            remainder = 0;
            quotient++;
        }
    }
    return 1;
}

int td_pipe_cloexec(int ends[2]) { return pipe2(ends, O_CLOEXEC); }

extern char **environ;

int td_spawn(const char *path, char *const argv[], int in, int out, int err, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) return status;
    if ((status = posix_spawn_file_actions_adddup2(&actions, in, 0)) == 0 &&
        (status = posix_spawn_file_actions_adddup2(&actions, out, 1)) == 0 &&
        (status = posix_spawn_file_actions_adddup2(&actions, err, 2)) == 0 &&
        (status = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0) {
        status = posix_spawn(pid, path, &actions, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&actions);
    return status;
}

int td_spawn_tied(const char *path, char *const argv[], int in, int out, int err, pid_t *pid) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) return errno;
    if (child == 0) {
        /* Only async-signal-safe calls from here to exec. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
        syscall(SYS_close_range, 3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, argv);
        _exit(127);
    }
    *pid = child;
    return 0;
}

int td_foreign_descriptor(pid_t pid, int fd) {
    int process = (int)syscall(SYS_pidfd_open, pid, 0);
    if (process < 0) return -1;
    int copy = (int)syscall(SYS_pidfd_getfd, process, fd, 0);
    int saved = errno;
    close(process);
    errno = saved;
    return copy;
}
