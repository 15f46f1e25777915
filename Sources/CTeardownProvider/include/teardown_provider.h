/*
 * teardown_provider.h: the C interface between Teardown and a socket provider.
 *
 * A provider is a shared library that exports one function, td_provider_startup, as a Winsock
 * service provider exports WSPStartup. Teardown calls it with the interface version it speaks and
 * the table of upcalls (obtain a handle, release it, query its context, complete an asynchronous
 * operation); the provider fills in its own table of operations and returns TD_OK.
 *
 * Every call of startup makes a new, independent provider instance (Teardown makes one per case);
 * its cleanup ends the instance: it closes every handle still open abortively and releases it,
 * then frees the instance.
 *
 * Errors are the Winsock codes of the named errors of SPEC.md (TD_ENOTSOCK = WSAENOTSOCK = 10038,
 * ...); 0 is success. Handles are opaque 64-bit values that the provider obtains from
 * create_handle and gives back with release_handle exactly once, when the handle is closed.
 *
 * Threads: Teardown calls the operations from many threads at once, on the same handle too (a
 * receive pending in one thread while another closes the handle). Blocking calls block; close
 * must wake them (they fail with TD_EINTR), and must not use shutdown(2) to do it. A blocking
 * send that has already accepted some bytes when it is woken returns TD_OK with their count.
 *
 * Pending: the harness decides from outside the provider that a call is pending: the thread that
 * made it is asleep (state S or D in /proc/self/task/TID/stat) in a system call
 * (/proc/self/task/TID/syscall), such as poll, recvfrom, accept4, or read on an eventfd, or waits
 * on a futex (a condition variable) for 100 ms without a break. A call that does neither within
 * 5 s makes the case an error "did not become pending".
 *
 * Asynchronous operations: one pending when its handle is closed completes exactly once with
 * TD_OPERATION_ABORTED, possibly after close has returned; an attempt already under way when close
 * is called may complete with what it did, but only before close returns. Bytes an aborted send
 * had already handed to the kernel are not taken back (the peer may read them); an aborted
 * receive writes nothing into its buffer afterwards.
 *
 * Versioning: TD_PROVIDER_ABI_VERSION changes when this interface changes incompatibly. A
 * provider that does not speak the version asked for returns TD_VERNOTSUPPORTED from startup;
 * Teardown refuses a provider whose table says another version.
 */
#ifndef TEARDOWN_PROVIDER_H
#define TEARDOWN_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TD_PROVIDER_ABI_VERSION 1u

/* The name of the function a provider exports. */
#define TD_PROVIDER_STARTUP_SYMBOL "td_provider_startup"

typedef uint64_t td_handle;
typedef uint64_t td_operation;
typedef int32_t td_status;

/* Success, and the named errors (Winsock codes). */
#define TD_OK 0
#define TD_ENOTSOCK 10038            /* notSocket: not a handle, or a released one */
#define TD_EINTR 10004               /* interrupted: a blocking call woken by close */
#define TD_OPERATION_ABORTED 995     /* operationAborted: an asynchronous operation ended by close */
#define TD_EWOULDBLOCK 10035         /* wouldBlock */
#define TD_ECONNRESET 10054          /* connectionReset */
#define TD_ECONNABORTED 10053        /* connectionAborted */
#define TD_ESHUTDOWN 10058           /* shutdown: sending after shutdown(send) */
#define TD_ENOTCONN 10057            /* notConnected */
#define TD_EINVAL 10022              /* invalidArgument */
#define TD_EADDRINUSE 10048          /* addressInUse */
#define TD_EADDRNOTAVAIL 10049       /* addressNotAvailable */
#define TD_ECONNREFUSED 10061        /* connectionRefused */
#define TD_ENOBUFS 10055             /* noBuffers */
#define TD_EMFILE 10024              /* tooManySockets */
#define TD_ETIMEDOUT 10060           /* timedOut */
#define TD_ENETDOWN 10050            /* networkDown */
#define TD_ENETUNREACH 10051         /* networkUnreachable */
#define TD_EHOSTUNREACH 10065        /* hostUnreachable */
#define TD_EISCONN 10056             /* alreadyConnected */
#define TD_EALREADY 10037            /* alreadyInProgress */
#define TD_EAFNOSUPPORT 10047        /* addressFamilyNotSupported */
#define TD_EOPNOTSUPP 10045          /* operationNotSupported */
#define TD_EFAULT 10014              /* fault */
#define TD_SYSCALLFAILURE 10107      /* systemCallFailure */
#define TD_VERNOTSUPPORTED 10092     /* startup only: this interface version is not spoken */

/* Address families. */
#define TD_AF_INET 4u
#define TD_AF_INET6 6u

/* An IPv4 (4 bytes used) or IPv6 (16 bytes) address and port, in host byte order for the port. */
typedef struct td_address {
    uint32_t family;
    uint16_t port;
    uint8_t bytes[16];
} td_address;

/* Shutdown directions: the values of SD_RECEIVE, SD_SEND, SD_BOTH (and SHUT_RD, SHUT_WR, SHUT_RDWR). */
#define TD_SHUT_RECEIVE 0
#define TD_SHUT_SEND 1
#define TD_SHUT_BOTH 2

/* Socket options. */
#define TD_OPT_LINGER 0u              /* value: on, seconds (0...65535) */
#define TD_OPT_DONTLINGER 1u          /* value: flag (linger off when set; the seconds are kept) */
#define TD_OPT_RCVBUF 2u              /* value: size */
#define TD_OPT_SNDBUF 3u              /* value: size */
#define TD_OPT_NODELAY 4u             /* value: flag */
#define TD_OPT_REUSEADDR 5u           /* value: flag */
#define TD_OPT_KEEPALIVE 6u           /* value: flag */

typedef struct td_option_value {
    uint32_t on;        /* linger on (TD_OPT_LINGER), or the flag (0 or 1) */
    uint32_t seconds;   /* the linger timeout (TD_OPT_LINGER), as the case gave it: a negative value arrives as its
                           32-bit two's complement, one wider than 32 bits as UINT32_MAX; refuse what is out of
                           range (LINGER-8) */
    int64_t size;       /* a buffer size (TD_OPT_RCVBUF, TD_OPT_SNDBUF) */
} td_option_value;

/* What a provider can do; cases that need a capability it lacks are skipped, with the reason. */
#define TD_CAP_ASYNCHRONOUS 1u        /* start_send, start_receive, start_accept */
#define TD_CAP_DUPLICATE 2u           /* duplicate */
#define TD_CAP_IPV6 4u                /* TD_AF_INET6 sockets */
#define TD_CAP_HARNESS_HANDLES 8u     /* handles come from create_handle (required of a plugin) */

/* How an asynchronous operation ended. `status` is TD_OK or an error (TD_OPERATION_ABORTED after a
   close). A send gives `bytes` sent; a receive gives `data` and `length` (0 is end of stream; the
   harness copies the bytes during the call); an accept gives `accepted` and `address`. */
typedef struct td_completion {
    td_status status;
    uint64_t bytes;
    const void *data;
    size_t length;
    td_handle accepted;
    td_address address;
} td_completion;

/* The harness's upcalls, handed to startup. `harness` is passed back as the first argument. */
typedef struct td_upcalls {
    uint32_t abi_version;
    uint32_t size;  /* sizeof(td_upcalls) */
    void *harness;
    /* A new handle for a socket; `context` is the provider's own value, returned by query_context. */
    td_status (*create_handle)(void *harness, uint64_t context, td_handle *handle);
    /* Gives a handle back; exactly once per handle, when it is closed (or at cleanup). */
    td_status (*release_handle)(void *harness, td_handle handle);
    td_status (*query_context)(void *harness, td_handle handle, uint64_t *context);
    /* Exactly once per operation started, from any thread. */
    void (*complete_operation)(void *harness, td_operation operation, const td_completion *completion);
} td_upcalls;

/* The provider's operations, filled in by startup. `state` is passed back as the first argument.
   A pointer left NULL is an operation the provider does not support (TD_EOPNOTSUPP). */
typedef struct td_provider {
    uint32_t abi_version;  /* TD_PROVIDER_ABI_VERSION */
    uint32_t size;         /* sizeof(td_provider) */
    const char *name;
    uint32_t capabilities; /* TD_CAP_* */
    void *state;

    td_status (*socket)(void *state, uint32_t family, td_handle *handle);
    td_status (*bind)(void *state, td_handle handle, const td_address *address);
    td_status (*listen)(void *state, td_handle handle, int32_t backlog);
    td_status (*accept)(void *state, td_handle handle, td_handle *accepted, td_address *address);
    td_status (*connect)(void *state, td_handle handle, const td_address *address);
    /* Bytes accepted go to *sent; once some are accepted a failure reports them instead of an error. */
    td_status (*send)(void *state, td_handle handle, const void *bytes, size_t length, size_t *sent);
    /* *received 0 is end of stream. */
    td_status (*receive)(void *state, td_handle handle, void *buffer, size_t length, size_t *received);
    td_status (*shutdown)(void *state, td_handle handle, int32_t how);
    td_status (*close)(void *state, td_handle handle);
    td_status (*get_option)(void *state, td_handle handle, uint32_t option, td_option_value *value);
    td_status (*set_option)(void *state, td_handle handle, uint32_t option, const td_option_value *value);
    td_status (*duplicate)(void *state, td_handle handle, td_handle *duplicate);
    td_status (*set_blocking)(void *state, td_handle handle, int32_t blocking);
    td_status (*local_address)(void *state, td_handle handle, td_address *address);
    td_status (*remote_address)(void *state, td_handle handle, td_address *address);
    td_status (*start_send)(void *state, td_handle handle, const void *bytes, size_t length, td_operation operation);
    td_status (*start_receive)(void *state, td_handle handle, size_t max_bytes, td_operation operation);
    td_status (*start_accept)(void *state, td_handle handle, td_operation operation);
    /* Ends the instance: every handle still open closed abortively and released, then freed. */
    void (*cleanup)(void *state);
} td_provider;

typedef td_status (*td_provider_startup_fn)(uint32_t abi_version, const td_upcalls *upcalls, td_provider *provider);

/* What a provider exports. */
td_status td_provider_startup(uint32_t abi_version, const td_upcalls *upcalls, td_provider *provider);

#ifdef __cplusplus
}
#endif

#endif /* TEARDOWN_PROVIDER_H */
