/*
 * An example socket provider in C, written against teardown_provider.h. It passes the whole
 * conformance suite. Read it as a guide to what each statement of SPEC.md asks of a provider on Linux.
 *
 * The design, and the statements behind it:
 * - Handles come from the harness (create_handle) and go back exactly once, when closed
 *   (HANDLE-1..4). A closed handle is forgotten, so every later use fails with TD_ENOTSOCK
 *   (CLOSE-2, CLOSE-3): the harness never reuses a handle value.
 * - Every kernel socket is nonblocking. A blocking call polls the socket and the handle's wake
 *   descriptor (an eventfd); close writes the eventfd, so the call fails with TD_EINTR at once
 *   (PEND-1..4). Close waits until no call is inside the handle before it touches the kernel
 *   socket, and never wakes anyone with shutdown(2), which would send a FIN (PEND-6).
 * - Linger is the provider's own: abortive closes set SO_LINGER {1, 0}; a timeout waits for the
 *   send queue to drain (SIOCOUTQ) and resets when it expires (LINGER-4, LINGER-5); a nonblocking
 *   close that would have to wait fails with TD_EWOULDBLOCK and changes nothing (LINGER-6).
 * - Unread data at close resets the connection (UNREAD-1).
 * - Duplicates share one socket with a reference count; the last close tears it down (SHARE-*).
 * - Asynchronous operations are driven by one completion thread per instance, which polls their
 *   sockets; close takes the handle's operations out of its hands and completes each exactly once
 *   with TD_OPERATION_ABORTED (PEND-5).
 *
 * Build: cc -shared -fPIC -O2 -pthread -I<teardown>/Sources/CTeardownProvider/include \
 *        -o libexample.so example_provider.c
 *
 * Two deliberately broken builds show what Teardown does with a provider that crashes or hangs
 * (each case runs in a worker process, so only the cases concerned end in `error`):
 *   -DEXAMPLE_CRASH_IN_ABORTIVE_CLOSE   close dereferences NULL when linger is on with timeout 0
 *   -DEXAMPLE_HANG_IN_RECEIVE           receive never returns, whatever close does
 * and two that break the interface's contract, which the audit and the loader catch:
 *   -DEXAMPLE_NEVER_RELEASE             close never gives the handle back (HANDLE-1)
 *   -DEXAMPLE_ABI_VERSION=2             the table says another interface version; Teardown refuses it
 */
#define _GNU_SOURCE
#include "teardown_provider.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef EXAMPLE_ABI_VERSION
#define EXAMPLE_ABI_VERSION TD_PROVIDER_ABI_VERSION
#endif

/* The kernel socket, shared by a handle and its duplicates. */
struct sock {
    int fd;
    int references;
    int blocking;
    int linger_on;
    int linger_seconds;
};

/* One handle. */
struct entry {
    td_handle handle;
    struct sock *sock;
    int wake;       /* eventfd that close writes to wake the calls inside */
    int closed;
    int in_flight;  /* calls inside the handle; close waits for them to leave */
    struct entry *next;
};

/* An asynchronous operation, until it completes. */
enum op_kind { OP_SEND, OP_RECEIVE, OP_ACCEPT };
struct op {
    td_operation id;
    enum op_kind kind;
    struct entry *owner;
    unsigned char *data;  /* a send's bytes, or a receive's buffer */
    size_t length;        /* a send's length, or a receive's most */
    size_t done;          /* bytes a send has sent, or a receive has received */
    int attempting;       /* the completion thread is trying it: a close leaves it to that thread */
    struct op *next;
};

struct provider {
    td_upcalls upcalls;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    struct entry *entries;
    uint64_t next_context;
    /* Asynchronous operations: the pending ones, and the thread that completes them. */
    struct op *ops;
    int control;          /* eventfd: wakes the completion thread when the list changes */
    int thread_running;
    int stopping;
    pthread_t thread;
};

/* errno to the named errors (the table of SPEC.md). */
static td_status from_errno(int error) {
    switch (error) {
    case EBADF: case ENOTSOCK: return TD_ENOTSOCK;
    case EINTR: return TD_EINTR;
    case ECANCELED: return TD_OPERATION_ABORTED;
    case EAGAIN: return TD_EWOULDBLOCK;
    case ECONNRESET: return TD_ECONNRESET;
    case ECONNABORTED: return TD_ECONNABORTED;
    case EPIPE: return TD_ESHUTDOWN;
    case ENOTCONN: return TD_ENOTCONN;
    case EINVAL: return TD_EINVAL;
    case EADDRINUSE: return TD_EADDRINUSE;
    case EADDRNOTAVAIL: return TD_EADDRNOTAVAIL;
    case ECONNREFUSED: return TD_ECONNREFUSED;
    case ENOBUFS: case ENOMEM: return TD_ENOBUFS;
    case EMFILE: case ENFILE: return TD_EMFILE;
    case ETIMEDOUT: return TD_ETIMEDOUT;
    case ENETDOWN: return TD_ENETDOWN;
    case ENETUNREACH: return TD_ENETUNREACH;
    case EHOSTUNREACH: return TD_EHOSTUNREACH;
    case EISCONN: return TD_EISCONN;
    case EALREADY: case EINPROGRESS: return TD_EALREADY;
    case EAFNOSUPPORT: case EPFNOSUPPORT: return TD_EAFNOSUPPORT;
    case EOPNOTSUPP: return TD_EOPNOTSUPP;
    case EFAULT: return TD_EFAULT;
    default: return TD_SYSCALLFAILURE;
    }
}

/* ---- Handles ---- */

static struct entry *find(struct provider *p, td_handle handle) {
    for (struct entry *e = p->entries; e; e = e->next)
        if (e->handle == handle) return e;
    return NULL;
}

/* Counts a call into the handle, so that close waits for it; fails for a closed or unknown handle. */
static td_status enter(struct provider *p, td_handle handle, struct entry **out) {
    pthread_mutex_lock(&p->lock);
    struct entry *e = find(p, handle);
    if (!e || e->closed) {
        pthread_mutex_unlock(&p->lock);
        return TD_ENOTSOCK;
    }
    e->in_flight++;
    pthread_mutex_unlock(&p->lock);
    *out = e;
    return TD_OK;
}

/* The start of every operation on a handle: `p` the provider, `e` the handle's entry counted as in flight
   (each path out calls leave), `status` TD_OK; an unknown or closed handle returns TD_ENOTSOCK. */
#define ENTER_OR_RETURN(state, handle) \
    struct provider *p = (state);      \
    struct entry *e;                   \
    td_status status = enter(p, (handle), &e); \
    if (status != TD_OK) return status

static void leave(struct provider *p, struct entry *e) {
    pthread_mutex_lock(&p->lock);
    if (--e->in_flight == 0) pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
}

/* Issues a handle for a socket through the upcall; the socket's reference is the caller's. */
static td_status attach(struct provider *p, struct sock *s, td_handle *out) {
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) return from_errno(errno);
    pthread_mutex_lock(&p->lock);
    uint64_t context = p->next_context++;
    pthread_mutex_unlock(&p->lock);
    td_handle handle;
    td_status status = p->upcalls.create_handle(p->upcalls.harness, context, &handle);
    if (status != TD_OK) {
        close(wake);
        return status;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (!e) {
        close(wake);
        p->upcalls.release_handle(p->upcalls.harness, handle);
        return TD_ENOBUFS;
    }
    e->handle = handle;
    e->sock = s;
    e->wake = wake;
    pthread_mutex_lock(&p->lock);
    e->next = p->entries;
    p->entries = e;
    pthread_mutex_unlock(&p->lock);
    *out = handle;
    return TD_OK;
}

static struct sock *new_sock(int fd) {
    struct sock *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->fd = fd;
    s->references = 1;
    s->blocking = 1;
    return s;
}

/* ---- Waiting ---- */

/* Waits until the socket is ready for `events`, or fails with TD_EINTR once the handle is closed. */
static td_status wait_ready(struct entry *e, short events) {
    struct pollfd fds[2] = {{.fd = e->sock->fd, .events = events}, {.fd = e->wake, .events = POLLIN}};
    while (poll(fds, 2, -1) < 0)
        if (errno != EINTR) return from_errno(errno);
    if (fds[1].revents || __atomic_load_n(&e->closed, __ATOMIC_ACQUIRE)) return TD_EINTR;
    return TD_OK;
}

static int is_closed(struct entry *e) { return __atomic_load_n(&e->closed, __ATOMIC_ACQUIRE); }

/* After a nonblocking attempt failed (errno set): TD_OK to try again, having waited on a blocking
   socket until it is ready; otherwise the error (TD_EWOULDBLOCK on a nonblocking socket). */
static td_status retry_or_fail(struct entry *e, short events) {
    if (errno == EINTR) return TD_OK;
    if (errno != EAGAIN) return from_errno(errno);
    if (!e->sock->blocking) return TD_EWOULDBLOCK;
    return wait_ready(e, events);
}

/* ---- Addresses ---- */

static socklen_t to_sockaddr(const td_address *a, struct sockaddr_storage *out) {
    memset(out, 0, sizeof *out);
    if (a->family == TD_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        memcpy(&in->sin_addr, a->bytes, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(a->port);
    memcpy(&in6->sin6_addr, a->bytes, 16);
    return sizeof *in6;
}

static void from_sockaddr(const struct sockaddr_storage *in, td_address *out) {
    memset(out, 0, sizeof *out);
    if (in->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)in;
        out->family = TD_AF_INET;
        out->port = ntohs(v4->sin_port);
        memcpy(out->bytes, &v4->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)in;
        out->family = TD_AF_INET6;
        out->port = ntohs(v6->sin6_port);
        memcpy(out->bytes, &v6->sin6_addr, 16);
    }
}

/* ---- Operations ---- */

static td_status op_socket(void *state, uint32_t family, td_handle *handle) {
    struct provider *p = state;
    if (family != TD_AF_INET && family != TD_AF_INET6) return TD_EAFNOSUPPORT;
    int fd = socket(family == TD_AF_INET ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return from_errno(errno);
    struct sock *s = new_sock(fd);
    if (!s) {
        close(fd);
        return TD_ENOBUFS;
    }
    td_status status = attach(p, s, handle);
    if (status != TD_OK) {
        close(fd);
        free(s);
    }
    return status;
}

static td_status op_bind(void *state, td_handle handle, const td_address *address) {
    ENTER_OR_RETURN(state, handle);
    struct sockaddr_storage storage;
    socklen_t length = to_sockaddr(address, &storage);
    if (bind(e->sock->fd, (struct sockaddr *)&storage, length) != 0) status = from_errno(errno);
    leave(p, e);
    return status;
}

static td_status op_listen(void *state, td_handle handle, int32_t backlog) {
    ENTER_OR_RETURN(state, handle);
    if (listen(e->sock->fd, backlog < 0 ? 0 : backlog) != 0) status = from_errno(errno);
    leave(p, e);
    return status;
}

static td_status op_accept(void *state, td_handle handle, td_handle *accepted, td_address *address) {
    ENTER_OR_RETURN(state, handle);
    for (;;) {
        if (is_closed(e)) {
            status = TD_EINTR;
            break;
        }
        struct sockaddr_storage storage;
        socklen_t length = sizeof storage;
        int fd = accept4(e->sock->fd, (struct sockaddr *)&storage, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            struct sock *s = new_sock(fd);
            status = s ? attach(p, s, accepted) : TD_ENOBUFS;
            if (status != TD_OK) {
                close(fd);
                free(s);
            } else {
                from_sockaddr(&storage, address);
            }
            break;
        }
        if (errno == ECONNABORTED) continue; /* the connection went before it was accepted */
        if ((status = retry_or_fail(e, POLLIN)) != TD_OK) break;
    }
    leave(p, e);
    return status;
}

static td_status op_connect(void *state, td_handle handle, const td_address *address) {
    ENTER_OR_RETURN(state, handle);
    struct sockaddr_storage storage;
    socklen_t length = to_sockaddr(address, &storage);
    if (connect(e->sock->fd, (struct sockaddr *)&storage, length) != 0) {
        if (errno != EINPROGRESS) {
            status = from_errno(errno);
        } else if (!e->sock->blocking) {
            status = TD_EWOULDBLOCK;
        } else if ((status = wait_ready(e, POLLOUT)) == TD_OK) {
            int error = 0;
            socklen_t size = sizeof error;
            if (getsockopt(e->sock->fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
            if (error != 0) status = from_errno(error);
        }
    }
    leave(p, e);
    return status;
}

static td_status op_send(void *state, td_handle handle, const void *bytes, size_t length, size_t *sent) {
    *sent = 0;
    ENTER_OR_RETURN(state, handle);
    while (*sent < length) {
        if (is_closed(e)) {
            status = TD_EINTR;
            break;
        }
        ssize_t n = send(e->sock->fd, (const char *)bytes + *sent, length - *sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            *sent += (size_t)n;
            continue;
        }
        if ((status = retry_or_fail(e, POLLOUT)) != TD_OK) break;
    }
    leave(p, e);
    /* Bytes already accepted are reported rather than the error: they reach the wire. */
    return *sent > 0 ? TD_OK : status;
}

static td_status op_receive(void *state, td_handle handle, void *buffer, size_t length, size_t *received) {
    *received = 0;
#ifdef EXAMPLE_HANG_IN_RECEIVE
    for (;;) pause();
#endif
    ENTER_OR_RETURN(state, handle);
    for (;;) {
        if (is_closed(e)) {
            status = TD_EINTR;
            break;
        }
        ssize_t n = recv(e->sock->fd, buffer, length, MSG_DONTWAIT);
        if (n >= 0) {
            *received = (size_t)n;
            break;
        }
        if ((status = retry_or_fail(e, POLLIN)) != TD_OK) break;
    }
    leave(p, e);
    return status;
}

static td_status op_shutdown(void *state, td_handle handle, int32_t how) {
    ENTER_OR_RETURN(state, handle);
    if (how < TD_SHUT_RECEIVE || how > TD_SHUT_BOTH) status = TD_EINVAL;
    else if (shutdown(e->sock->fd, how) != 0) status = from_errno(errno);
    leave(p, e);
    return status;
}

static int queued(int fd, unsigned long request) {
    int count = 0;
    return ioctl(fd, request, &count) == 0 ? count : 0;
}

static void close_abortively(int fd) {
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* Ends the kernel socket as the linger option says; at the last close only. */
static void tear_down(struct sock *s, int linger_on, int linger_seconds, int blocking) {
    int fd = s->fd;
    if (queued(fd, FIONREAD) > 0 || (linger_on && linger_seconds == 0)) {
        close_abortively(fd); /* unread data resets, whatever the linger option (UNREAD-1) */
        return;
    }
    if (linger_on && blocking) {
        struct timespec now, deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += linger_seconds;
        while (queued(fd, SIOCOUTQ) > 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
                close_abortively(fd); /* the timeout expired: reset, not Linux's FIN (LINGER-5) */
                return;
            }
            struct pollfd none = {.fd = -1};
            poll(&none, 0, 2);
        }
    }
    close(fd);
}

/* ---- Asynchronous operations ---- */

/* Completes an operation through the upcall, exactly once, and frees it. */
static void finish(struct provider *p, struct op *o, td_status status) {
    td_completion completion;
    memset(&completion, 0, sizeof completion);
    completion.status = status;
    if (status == TD_OK && o->kind == OP_SEND) completion.bytes = o->done;
    if (status == TD_OK && o->kind == OP_RECEIVE) {
        completion.data = o->data;
        completion.length = o->done;
    }
    p->upcalls.complete_operation(p->upcalls.harness, o->id, &completion);
    free(o->data);
    free(o);
}

/* Takes the handle's pending operations off the list (the lock is held); the caller completes them.
   One the completion thread is trying is left to it: it completes it, or aborts it seeing the close. */
static struct op *take_ops(struct provider *p, struct entry *e) {
    struct op *taken = NULL;
    for (struct op **link = &p->ops; *link;) {
        struct op *o = *link;
        if (o->owner == e && !o->attempting) {
            *link = o->next;
            o->next = taken;
            taken = o;
        } else {
            link = &o->next;
        }
    }
    return taken;
}

static void nudge(struct provider *p) {
    uint64_t one = 1;
    ssize_t ignored = write(p->control, &one, sizeof one);
    (void)ignored;
}

/* One nonblocking attempt; TD_EWOULDBLOCK while the operation must wait. Runs with the owner in flight. */
static td_status attempt(struct provider *p, struct op *o, td_completion *accepted) {
    int fd = o->owner->sock->fd;
    for (;;) {
        if (o->kind == OP_SEND) {
            ssize_t n = send(fd, o->data + o->done, o->length - o->done, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n >= 0) {
                o->done += (size_t)n;
                if (o->done < o->length) continue;
                return TD_OK;
            }
        } else if (o->kind == OP_RECEIVE) {
            ssize_t n = recv(fd, o->data, o->length, MSG_DONTWAIT);
            if (n >= 0) {
                o->done = (size_t)n;
                return TD_OK;
            }
        } else {
            struct sockaddr_storage storage;
            socklen_t size = sizeof storage;
            int new_fd = accept4(fd, (struct sockaddr *)&storage, &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (new_fd >= 0) {
                struct sock *s = new_sock(new_fd);
                td_status status = s ? attach(p, s, &accepted->accepted) : TD_ENOBUFS;
                if (status != TD_OK) {
                    close(new_fd);
                    free(s);
                } else {
                    from_sockaddr(&storage, &accepted->address);
                }
                return status;
            }
            if (errno == ECONNABORTED) continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return TD_EWOULDBLOCK;
        /* A send that has sent some bytes reports them. */
        return o->kind == OP_SEND && o->done > 0 ? TD_OK : from_errno(errno);
    }
}

/* Attempts the operation with this id if it is still pending (a close may have taken it meanwhile),
   and completes it when it is done. */
static void progress(struct provider *p, td_operation id) {
    pthread_mutex_lock(&p->lock);
    struct op *o = p->ops;
    while (o && o->id != id) o = o->next;
    if (!o) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    struct entry *owner = o->owner;
    owner->in_flight++; /* close waits for the attempt before it touches the socket */
    o->attempting = 1;
    pthread_mutex_unlock(&p->lock);
    td_completion accepted;
    memset(&accepted, 0, sizeof accepted);
    td_status status = attempt(p, o, &accepted);
    pthread_mutex_lock(&p->lock);
    o->attempting = 0;
    /* What the attempt did is never lost: done, it completes with it; not done on a closed handle, aborted. */
    if (status == TD_EWOULDBLOCK && is_closed(owner)) status = TD_OPERATION_ABORTED;
    int done = status != TD_EWOULDBLOCK;
    if (done) {
        for (struct op **link = &p->ops; *link; link = &(*link)->next) {
            if (*link == o) {
                *link = o->next;
                break;
            }
        }
    }
    if (--owner->in_flight == 0) pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
    if (!done) return;
    if (o->kind == OP_ACCEPT && status == TD_OK) {
        p->upcalls.complete_operation(p->upcalls.harness, o->id, &accepted);
        free(o);
    } else {
        finish(p, o, status);
    }
}

/* The completion thread: polls the sockets of the pending operations and the control eventfd. */
static void *completion_loop(void *argument) {
    struct provider *p = argument;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        size_t count = 1;
        for (struct op *o = p->ops; o; o = o->next) count++;
        struct pollfd *fds = calloc(count, sizeof *fds);
        td_operation *ids = calloc(count, sizeof *ids);
        if (!fds || !ids) {
            pthread_mutex_unlock(&p->lock);
            free(fds);
            free(ids);
            continue;
        }
        fds[0] = (struct pollfd){.fd = p->control, .events = POLLIN};
        size_t i = 1;
        for (struct op *o = p->ops; o; o = o->next, i++) {
            fds[i] = (struct pollfd){.fd = o->owner->sock->fd, .events = o->kind == OP_SEND ? POLLOUT : POLLIN};
            ids[i] = o->id;
        }
        pthread_mutex_unlock(&p->lock);
        while (poll(fds, count, -1) < 0 && errno == EINTR) {
        }
        if (fds[0].revents) {
            uint64_t value;
            ssize_t ignored = read(p->control, &value, sizeof value);
            (void)ignored;
        }
        for (i = 1; i < count; i++)
            if (fds[i].revents) progress(p, ids[i]);
        free(fds);
        free(ids);
    }
}

/* Puts an operation on the list, starting the completion thread the first time. */
static td_status start(void *state, td_handle handle, enum op_kind kind, const void *bytes, size_t length, td_operation id) {
    ENTER_OR_RETURN(state, handle);
    struct op *o = calloc(1, sizeof *o);
    if (o && length > 0) {
        o->data = malloc(length);
        if (!o->data) {
            free(o);
            o = NULL;
        } else if (bytes) {
            memcpy(o->data, bytes, length);
        }
    }
    if (!o) {
        leave(p, e);
        return TD_ENOBUFS;
    }
    o->id = id;
    o->kind = kind;
    o->owner = e;
    o->length = length;
    pthread_mutex_lock(&p->lock);
    if (!p->thread_running) {
        if (pthread_create(&p->thread, NULL, completion_loop, p) != 0) status = TD_ENOBUFS;
        else p->thread_running = 1;
    }
    if (status == TD_OK) {
        o->next = p->ops;
        p->ops = o;
    }
    pthread_mutex_unlock(&p->lock);
    if (status == TD_OK) {
        nudge(p);
    } else {
        free(o->data);
        free(o);
    }
    leave(p, e);
    return status;
}

static td_status op_start_send(void *state, td_handle handle, const void *bytes, size_t length, td_operation operation) {
    return start(state, handle, OP_SEND, bytes, length, operation);
}

static td_status op_start_receive(void *state, td_handle handle, size_t max_bytes, td_operation operation) {
    return start(state, handle, OP_RECEIVE, NULL, max_bytes, operation);
}

static td_status op_start_accept(void *state, td_handle handle, td_operation operation) {
    return start(state, handle, OP_ACCEPT, NULL, 0, operation);
}

#ifdef EXAMPLE_WRITE_STRAY
/* A deliberately broken variant (for the harness's own tests): at a close, 8 bytes go into every other
   connected TCP socket of the process, as a provider writing to descriptors it no longer owns would. */
static void write_stray(int own) {
    for (int fd = 3; fd < 8192; fd++) {
        int type = 0, protocol = 0;
        socklen_t length = sizeof type;
        if (fd == own || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) continue;
        length = sizeof protocol;
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0 || protocol != IPPROTO_TCP) continue;
        ssize_t ignored = send(fd, "stray!!!", 8, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
    }
}
#endif

static td_status op_close(void *state, td_handle handle) {
    struct provider *p = state;
    pthread_mutex_lock(&p->lock);
    struct entry *e = find(p, handle);
    if (!e || e->closed) {
        pthread_mutex_unlock(&p->lock);
        return TD_ENOTSOCK;
    }
    struct sock *s = e->sock;
#ifdef EXAMPLE_WRITE_STRAY
    write_stray(s->fd);
#endif
#ifdef EXAMPLE_CRASH_IN_ABORTIVE_CLOSE
    if (s->linger_on && s->linger_seconds == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
#endif
    int last = s->references == 1;
    int blocking = s->blocking;
    /* LINGER-6: a nonblocking close that would have to wait changes nothing and says so. */
    if (last && s->linger_on && s->linger_seconds > 0 && !blocking && queued(s->fd, FIONREAD) == 0 &&
        queued(s->fd, SIOCOUTQ) > 0) {
        pthread_mutex_unlock(&p->lock);
        return TD_EWOULDBLOCK;
    }
    /* From here on every call naming the handle fails, and every wait on it wakes. */
    __atomic_store_n(&e->closed, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t ignored = write(e->wake, &one, sizeof one);
    (void)ignored;
    struct op *aborted = take_ops(p, e);
    while (e->in_flight > 0) pthread_cond_wait(&p->idle, &p->lock);
    for (struct entry **link = &p->entries; *link; link = &(*link)->next) {
        if (*link == e) {
            *link = e->next;
            break;
        }
    }
    int remaining = --s->references;
    int linger_on = s->linger_on, linger_seconds = s->linger_seconds;
    pthread_mutex_unlock(&p->lock);
    if (remaining == 0) {
        tear_down(s, linger_on, linger_seconds, blocking);
        free(s);
    }
    close(e->wake);
    free(e);
    /* PEND-5: each operation pending on the handle completes once, with TD_OPERATION_ABORTED. */
    while (aborted) {
        struct op *next = aborted->next;
        finish(p, aborted, TD_OPERATION_ABORTED);
        aborted = next;
    }
    /* The handle goes back exactly once, by this close (HANDLE-1). */
#ifndef EXAMPLE_NEVER_RELEASE
    p->upcalls.release_handle(p->upcalls.harness, handle);
#endif
    return TD_OK;
}

static td_status op_get_option(void *state, td_handle handle, uint32_t option, td_option_value *value) {
    ENTER_OR_RETURN(state, handle);
    memset(value, 0, sizeof *value);
    int level = SOL_SOCKET, name = 0, raw = 0;
    socklen_t size = sizeof raw;
    switch (option) {
    case TD_OPT_LINGER:
        pthread_mutex_lock(&p->lock);
        value->on = (uint32_t)e->sock->linger_on;
        value->seconds = (uint32_t)e->sock->linger_seconds;
        pthread_mutex_unlock(&p->lock);
        break;
    case TD_OPT_DONTLINGER:
        pthread_mutex_lock(&p->lock);
        value->on = !e->sock->linger_on;
        pthread_mutex_unlock(&p->lock);
        break;
    case TD_OPT_RCVBUF: name = SO_RCVBUF; break;
    case TD_OPT_SNDBUF: name = SO_SNDBUF; break;
    case TD_OPT_NODELAY: level = IPPROTO_TCP; name = TCP_NODELAY; break;
    case TD_OPT_REUSEADDR: name = SO_REUSEADDR; break;
    case TD_OPT_KEEPALIVE: name = SO_KEEPALIVE; break;
    default: status = TD_EINVAL;
    }
    if (status == TD_OK && name != 0) {
        if (getsockopt(e->sock->fd, level, name, &raw, &size) != 0) status = from_errno(errno);
        else if (option == TD_OPT_RCVBUF || option == TD_OPT_SNDBUF) value->size = raw;
        else value->on = raw != 0;
    }
    leave(p, e);
    return status;
}

static td_status op_set_option(void *state, td_handle handle, uint32_t option, const td_option_value *value) {
    ENTER_OR_RETURN(state, handle);
    int level = SOL_SOCKET, name = 0, raw = 0;
    switch (option) {
    case TD_OPT_LINGER:
        if (value->seconds > 65535) {
            status = TD_EINVAL; /* LINGER-8: out of range, and the previous setting stays */
            break;
        }
        pthread_mutex_lock(&p->lock);
        e->sock->linger_on = value->on != 0;
        e->sock->linger_seconds = (int)value->seconds;
        pthread_mutex_unlock(&p->lock);
        break;
    case TD_OPT_DONTLINGER:
        pthread_mutex_lock(&p->lock);
        e->sock->linger_on = value->on == 0; /* the timeout is kept (LINGER-7) */
        pthread_mutex_unlock(&p->lock);
        break;
    case TD_OPT_RCVBUF:
    case TD_OPT_SNDBUF:
        if (value->size <= 0 || value->size > INT32_MAX) {
            status = TD_EINVAL;
            break;
        }
        name = option == TD_OPT_RCVBUF ? SO_RCVBUF : SO_SNDBUF;
        raw = (int)value->size;
        break;
    case TD_OPT_NODELAY: level = IPPROTO_TCP; name = TCP_NODELAY; raw = value->on != 0; break;
    case TD_OPT_REUSEADDR: name = SO_REUSEADDR; raw = value->on != 0; break;
    case TD_OPT_KEEPALIVE: name = SO_KEEPALIVE; raw = value->on != 0; break;
    default: status = TD_EINVAL;
    }
    if (status == TD_OK && name != 0 && setsockopt(e->sock->fd, level, name, &raw, sizeof raw) != 0) status = from_errno(errno);
    leave(p, e);
    return status;
}

static td_status op_duplicate(void *state, td_handle handle, td_handle *duplicate) {
    ENTER_OR_RETURN(state, handle);
    pthread_mutex_lock(&p->lock);
    e->sock->references++;
    pthread_mutex_unlock(&p->lock);
    status = attach(p, e->sock, duplicate);
    if (status != TD_OK) {
        pthread_mutex_lock(&p->lock);
        e->sock->references--;
        pthread_mutex_unlock(&p->lock);
    }
    leave(p, e);
    return status;
}

static td_status op_set_blocking(void *state, td_handle handle, int32_t blocking) {
    ENTER_OR_RETURN(state, handle);
    __atomic_store_n(&e->sock->blocking, blocking != 0, __ATOMIC_RELAXED);
    leave(p, e);
    return status;
}

static td_status address_of(void *state, td_handle handle, td_address *address, int peer) {
    ENTER_OR_RETURN(state, handle);
    struct sockaddr_storage storage;
    socklen_t length = sizeof storage;
    int result = peer ? getpeername(e->sock->fd, (struct sockaddr *)&storage, &length)
                      : getsockname(e->sock->fd, (struct sockaddr *)&storage, &length);
    if (result != 0) status = from_errno(errno);
    else from_sockaddr(&storage, address);
    leave(p, e);
    return status;
}

static td_status op_local_address(void *state, td_handle handle, td_address *address) {
    return address_of(state, handle, address, 0);
}

static td_status op_remote_address(void *state, td_handle handle, td_address *address) {
    return address_of(state, handle, address, 1);
}

/* HANDLE-5: every handle still open is closed abortively and released; then the instance is freed. */
static void op_cleanup(void *state) {
    struct provider *p = state;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        struct entry *e = p->entries;
        while (e && e->closed) e = e->next;
        td_handle handle = 0;
        if (e) {
            e->sock->linger_on = 1;
            e->sock->linger_seconds = 0;
            handle = e->handle;
        }
        pthread_mutex_unlock(&p->lock);
        if (!e) break;
        op_close(p, handle);
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    int running = p->thread_running;
    pthread_mutex_unlock(&p->lock);
    if (running) {
        nudge(p);
        pthread_join(p->thread, NULL);
    }
    close(p->control);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->idle);
    free(p);
}

td_status td_provider_startup(uint32_t abi_version, const td_upcalls *upcalls, td_provider *provider) {
    if (abi_version != TD_PROVIDER_ABI_VERSION || upcalls->abi_version != TD_PROVIDER_ABI_VERSION) return TD_VERNOTSUPPORTED;
    struct provider *p = calloc(1, sizeof *p);
    if (!p) return TD_ENOBUFS;
    p->upcalls = *upcalls;
    p->next_context = 1;
    p->control = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->control < 0) {
        free(p);
        return TD_ENOBUFS;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->idle, NULL);
    memset(provider, 0, sizeof *provider);
    provider->abi_version = EXAMPLE_ABI_VERSION;
    provider->size = sizeof *provider;
    provider->name = "example-c";
    provider->capabilities = TD_CAP_ASYNCHRONOUS | TD_CAP_DUPLICATE | TD_CAP_IPV6 | TD_CAP_HARNESS_HANDLES;
    provider->state = p;
    provider->socket = op_socket;
    provider->bind = op_bind;
    provider->listen = op_listen;
    provider->accept = op_accept;
    provider->connect = op_connect;
    provider->send = op_send;
    provider->receive = op_receive;
    provider->shutdown = op_shutdown;
    provider->close = op_close;
    provider->get_option = op_get_option;
    provider->set_option = op_set_option;
    provider->duplicate = op_duplicate;
    provider->set_blocking = op_set_blocking;
    provider->local_address = op_local_address;
    provider->remote_address = op_remote_address;
    provider->start_send = op_start_send;
    provider->start_receive = op_start_receive;
    provider->start_accept = op_start_accept;
    provider->cleanup = op_cleanup;
    return TD_OK;
}
