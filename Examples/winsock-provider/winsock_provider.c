/* A provider for Teardown on Winsock 2, speaking the provider protocol (docs/provider-protocol.md) on standard
 * input and output. A Windows console program: built with mingw-w64, it runs under Wine on Linux (and would run
 * on Windows). It is a thin adapter: each call of the interface is the Winsock call that does the same, and
 * Winsock's own error code is the answer. What is judged is the Winsock under it (Wine's ws2_32 here), not this
 * file: it emulates nothing (no linger, no wake-up of its own, no handle table: a handle is the SOCKET).
 *
 *   socket        WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED)
 *   send/receive  send, recv (blocking or not as ioctlsocket(FIONBIO) set the socket)
 *   close         closesocket
 *   duplicate     WSADuplicateSocketW, then WSASocketW(FROM_PROTOCOL_INFO)
 *   asynchronous  overlapped WSASend, WSARecv and AcceptEx, completed through one I/O completion port
 *   cleanup       every socket still open closed with SO_LINGER {1, 0}, as WSPCleanup does
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -o winsock_provider.exe winsock_provider.c -lws2_32 -lmswsock
 */
#define _WIN32_WINNT 0x0600
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CRITICAL_SECTION output_lock, table_lock;
static HANDLE completion_port;

/* ---- Output: one line at a time, whole. ---- */

static void say(const char *line) {
    EnterCriticalSection(&output_lock);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    size_t length = strlen(line), done = 0;
    while (done < length) {
        DWORD written = 0;
        if (!WriteFile(out, line + done, (DWORD)(length - done), &written, NULL)) ExitProcess(0);
        done += written;
    }
    DWORD written = 0;
    WriteFile(out, "\n", 1, &written, NULL);
    LeaveCriticalSection(&output_lock);
}

/* ---- Base64 (RFC 4648), for the bytes a line carries. ---- */

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *encode(const unsigned char *bytes, size_t count) {
    char *text = malloc(count / 3 * 4 + 8);
    size_t j = 0;
    if (count == 0) {
        strcpy(text, "-");
        return text;
    }
    for (size_t i = 0; i < count; i += 3) {
        unsigned value = bytes[i] << 16 | (i + 1 < count ? bytes[i + 1] << 8 : 0) | (i + 2 < count ? bytes[i + 2] : 0);
        text[j++] = alphabet[value >> 18 & 63];
        text[j++] = alphabet[value >> 12 & 63];
        text[j++] = i + 1 < count ? alphabet[value >> 6 & 63] : '=';
        text[j++] = i + 2 < count ? alphabet[value & 63] : '=';
    }
    text[j] = 0;
    return text;
}

static unsigned char *decode(const char *text, size_t *count) {
    size_t length = strlen(text);
    unsigned char *bytes = malloc(length / 4 * 3 + 3);
    *count = 0;
    if (strcmp(text, "-") == 0) return bytes;
    unsigned value = 0;
    int bits = 0;
    for (size_t i = 0; i < length && text[i] != '='; i++) {
        const char *at = strchr(alphabet, text[i]);
        if (!at) break;
        value = value << 6 | (unsigned)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[(*count)++] = (unsigned char)(value >> bits);
        }
    }
    return bytes;
}

/* ---- The thread that makes a call, named for the harness. ---- */

/* Under Wine on Linux, the Linux thread id of the calling thread (a raw gettid system call), so that the harness can
 * watch the thread where it blocks; 0 elsewhere. */
static long thread_id(void) {
    static int wine = -1;
    if (wine < 0) wine = GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version") != NULL;
    if (!wine) return 0;
    long id;
    __asm__ volatile("syscall" : "=a"(id) : "a"(186L) : "rcx", "r11", "memory");
    return id;
}

/* ---- Addresses. ---- */

static int parse_address(const char *text, struct sockaddr_storage *address, int *length) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || colon - text >= (int)sizeof host) return 0;
    memset(address, 0, sizeof *address);
    if (text[0] == '[') {
        size_t size = (size_t)(colon - text) - 2;
        memcpy(host, text + 1, size);
        host[size] = 0;
        struct sockaddr_in6 *six = (struct sockaddr_in6 *)address;
        six->sin6_family = AF_INET6;
        six->sin6_port = htons((u_short)atoi(colon + 1));
        if (inet_pton(AF_INET6, host, &six->sin6_addr) != 1) return 0;
        *length = sizeof *six;
    } else {
        size_t size = (size_t)(colon - text);
        memcpy(host, text, size);
        host[size] = 0;
        struct sockaddr_in *four = (struct sockaddr_in *)address;
        four->sin_family = AF_INET;
        four->sin_port = htons((u_short)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &four->sin_addr) != 1) return 0;
        *length = sizeof *four;
    }
    return 1;
}

static void format_address(const struct sockaddr *address, char *text) {
    char host[64] = "?";
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *six = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &six->sin6_addr, host, sizeof host);
        sprintf(text, "[%s]:%u", host, ntohs(six->sin6_port));
    } else {
        const struct sockaddr_in *four = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &four->sin_addr, host, sizeof host);
        sprintf(text, "%s:%u", host, ntohs(four->sin_port));
    }
}

/* ---- The sockets open now: what cleanup closes. Nothing else reads this table. ---- */

#define MAX_SOCKETS 4096
static SOCKET open_sockets[MAX_SOCKETS];
static int open_count;

static void opened(SOCKET s) {
    EnterCriticalSection(&table_lock);
    if (open_count < MAX_SOCKETS) open_sockets[open_count++] = s;
    LeaveCriticalSection(&table_lock);
}

static int is_open(SOCKET s) {
    int found = 0;
    EnterCriticalSection(&table_lock);
    for (int i = 0; i < open_count && !found; i++) found = open_sockets[i] == s;
    LeaveCriticalSection(&table_lock);
    return found;
}

static void closed(SOCKET s) {
    EnterCriticalSection(&table_lock);
    for (int i = 0; i < open_count; i++) {
        if (open_sockets[i] == s) {
            open_sockets[i] = open_sockets[--open_count];
            break;
        }
    }
    LeaveCriticalSection(&table_lock);
}

/* ---- Asynchronous operations: one record per operation, completed by the completion thread. ---- */

enum kind { SEND, RECEIVE, ACCEPT };
struct operation {
    OVERLAPPED overlapped; /* first: the completion port hands back its address */
    enum kind kind;
    unsigned long long id;
    SOCKET socket, accepted;
    WSABUF buffer;
    unsigned char *bytes;
    char addresses[2 * (sizeof(struct sockaddr_storage) + 16)];
};
static volatile LONG outstanding; /* started and not completed yet */

/* Completes an operation as the completion port reported it: `failure` is GetQueuedCompletionStatus's error. */
static void complete(struct operation *operation, BOOL succeeded, DWORD count, DWORD failure) {
    char head[96];
    if (!succeeded) {
        /* The Winsock code, from WSAGetOverlappedResult while the socket is open; once it is closed (the case this
           suite is about) that call has no socket to ask, and what an application sees is the completion port's own
           error (995, ERROR_OPERATION_ABORTED, is also WSA_OPERATION_ABORTED). */
        DWORD flags = 0, transferred = 0;
        int error = (int)failure;
        if (is_open(operation->socket) &&
            !WSAGetOverlappedResult(operation->socket, &operation->overlapped, &transferred, FALSE, &flags)) {
            error = WSAGetLastError();
        }
        if (operation->kind == ACCEPT) closesocket(operation->accepted);
        sprintf(head, "complete %llu failed %d", operation->id, error);
        say(head);
    } else if (operation->kind == SEND) {
        sprintf(head, "complete %llu sent %lu", operation->id, count);
        say(head);
    } else if (operation->kind == RECEIVE) {
        char *data = encode(operation->bytes, count);
        char *line = malloc(strlen(data) + 96);
        sprintf(line, "complete %llu received %s", operation->id, data);
        say(line);
        free(line);
        free(data);
    } else {
        SOCKET listener = operation->socket;
        setsockopt(operation->accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&listener, sizeof listener);
        struct sockaddr *local = NULL, *remote = NULL;
        int local_length = 0, remote_length = 0;
        GetAcceptExSockaddrs(operation->addresses, 0, sizeof(struct sockaddr_storage) + 16, sizeof(struct sockaddr_storage) + 16,
                             &local, &local_length, &remote, &remote_length);
        char address[96] = "0.0.0.0:0";
        if (remote) format_address(remote, address);
        opened(operation->accepted);
        char line[192];
        sprintf(line, "complete %llu accepted %llu %s", operation->id, (unsigned long long)operation->accepted, address);
        say(line);
    }
    free(operation->bytes);
    free(operation);
    InterlockedDecrement(&outstanding);
}

static DWORD WINAPI completion_thread(LPVOID unused) {
    (void)unused;
    for (;;) {
        DWORD count = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *overlapped = NULL;
        BOOL succeeded = GetQueuedCompletionStatus(completion_port, &count, &key, &overlapped, INFINITE);
        DWORD failure = succeeded ? 0 : GetLastError();
        if (overlapped) complete((struct operation *)overlapped, succeeded, count, failure);
    }
    return 0;
}

/* Starts an operation; 0, or the Winsock error that kept it from starting (it then never completes). */
static int start(struct operation *operation) {
    /* A socket is tied to the port once; a second time fails with ERROR_INVALID_PARAMETER, which is fine. */
    CreateIoCompletionPort((HANDLE)operation->socket, completion_port, 0, 0);
    InterlockedIncrement(&outstanding);
    DWORD flags = 0, count = 0;
    int status;
    if (operation->kind == SEND) {
        status = WSASend(operation->socket, &operation->buffer, 1, &count, 0, &operation->overlapped, NULL);
    } else if (operation->kind == RECEIVE) {
        status = WSARecv(operation->socket, &operation->buffer, 1, &count, &flags, &operation->overlapped, NULL);
    } else {
        WSAPROTOCOL_INFOW info;
        int size = sizeof info;
        if (getsockopt(operation->socket, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &size) != 0) goto failed;
        operation->accepted = WSASocketW(info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        if (operation->accepted == INVALID_SOCKET) goto failed;
        status = AcceptEx(operation->socket, operation->accepted, operation->addresses, 0, sizeof(struct sockaddr_storage) + 16,
                          sizeof(struct sockaddr_storage) + 16, &count, &operation->overlapped)
                     ? 0
                     : SOCKET_ERROR;
    }
    if (status == 0 || WSAGetLastError() == WSA_IO_PENDING) return 0;
failed:;
    int error = WSAGetLastError();
    if (operation->kind == ACCEPT && operation->accepted != INVALID_SOCKET) closesocket(operation->accepted);
    InterlockedDecrement(&outstanding);
    free(operation->bytes);
    free(operation);
    return error;
}

/* ---- Calls. ---- */

#define WORDS 8
struct call {
    char *line;
    char *word[WORDS];
    int count;
};

static int options(const char *name, int *level, int *option) {
    static const struct { const char *name; int level, option; } table[] = {
        {"linger", SOL_SOCKET, SO_LINGER},        {"dontLinger", SOL_SOCKET, SO_DONTLINGER}, {"receiveBufferSize", SOL_SOCKET, SO_RCVBUF},
        {"sendBufferSize", SOL_SOCKET, SO_SNDBUF}, {"noDelay", IPPROTO_TCP, TCP_NODELAY},   {"reuseAddress", SOL_SOCKET, SO_REUSEADDR},
        {"keepAlive", SOL_SOCKET, SO_KEEPALIVE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *level = table[i].level;
            *option = table[i].option;
            return 1;
        }
    }
    return 0;
}

/* Makes the call; returns 0 with `answer` filled (malloc'd, may be empty), or a Winsock error. */
static int make(struct call *call, char **answer) {
    const char *operation = call->word[3];
    char text[256] = "";
    *answer = NULL;
    if (strcmp(operation, "socket") == 0) {
        int family = strcmp(call->word[4], "ipv4") == 0 ? AF_INET : strcmp(call->word[4], "ipv6") == 0 ? AF_INET6 : -1;
        if (family < 0) return WSAEAFNOSUPPORT;
        SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        if (s == INVALID_SOCKET) return WSAGetLastError();
        opened(s);
        sprintf(text, "%llu", (unsigned long long)s);
    } else if (strcmp(operation, "cleanup") == 0) {
        EnterCriticalSection(&table_lock);
        int count = open_count;
        SOCKET *left = malloc(sizeof(SOCKET) * (size_t)(count + 1));
        memcpy(left, open_sockets, sizeof(SOCKET) * (size_t)count);
        open_count = 0;
        LeaveCriticalSection(&table_lock);
        for (int i = 0; i < count; i++) {
            struct linger abortive = {1, 0};
            setsockopt(left[i], SOL_SOCKET, SO_LINGER, (char *)&abortive, sizeof abortive);
            closesocket(left[i]);
        }
        free(left);
        /* Every operation the closes aborted completes before cleanup answers (at most 5 s). */
        for (int waited = 0; outstanding > 0 && waited < 500; waited++) Sleep(10);
    } else {
        if (call->count < 5) return WSAEINVAL;
        SOCKET s = (SOCKET)_strtoui64(call->word[4], NULL, 10);
        const char *argument = call->count > 5 ? call->word[5] : "";
        struct sockaddr_storage address;
        int length = sizeof address;
        if (strcmp(operation, "bind") == 0 || strcmp(operation, "connect") == 0) {
            if (!parse_address(argument, &address, &length)) return WSAEINVAL;
            int status = operation[0] == 'b' ? bind(s, (struct sockaddr *)&address, length)
                                             : connect(s, (struct sockaddr *)&address, length);
            if (status != 0) return WSAGetLastError();
        } else if (strcmp(operation, "listen") == 0) {
            if (listen(s, atoi(argument)) != 0) return WSAGetLastError();
        } else if (strcmp(operation, "accept") == 0) {
            SOCKET accepted = accept(s, (struct sockaddr *)&address, &length);
            if (accepted == INVALID_SOCKET) return WSAGetLastError();
            opened(accepted);
            char where[96];
            format_address((struct sockaddr *)&address, where);
            sprintf(text, "%llu %s", (unsigned long long)accepted, where);
        } else if (strcmp(operation, "send") == 0) {
            size_t count;
            unsigned char *bytes = decode(argument, &count);
            int sent = send(s, (const char *)bytes, (int)count, 0);
            int error = sent < 0 ? WSAGetLastError() : 0;
            free(bytes);
            if (sent < 0) return error;
            sprintf(text, "%d", sent);
        } else if (strcmp(operation, "receive") == 0) {
            int most = atoi(argument);
            if (most < 0) return WSAEINVAL;
            char *bytes = malloc((size_t)most + 1);
            int received = recv(s, bytes, most, 0);
            int error = received < 0 ? WSAGetLastError() : 0;
            if (received < 0) {
                free(bytes);
                return error;
            }
            *answer = encode((unsigned char *)bytes, (size_t)received);
            free(bytes);
            return 0;
        } else if (strcmp(operation, "shutdown") == 0) {
            if (shutdown(s, atoi(argument)) != 0) return WSAGetLastError();
        } else if (strcmp(operation, "close") == 0) {
            /* Out of the table first: a completion the close causes must not find the socket there. */
            int known = is_open(s);
            closed(s);
            if (closesocket(s) != 0) {
                int error = WSAGetLastError();
                if (known) opened(s);
                return error;
            }
        } else if (strcmp(operation, "getopt") == 0 || strcmp(operation, "setopt") == 0) {
            int level, option;
            if (!options(argument, &level, &option)) return WSAENOPROTOOPT;
            if (operation[0] == 'g') {
                char value[16] = {0};
                int size = sizeof value;
                if (getsockopt(s, level, option, value, &size) != 0) return WSAGetLastError();
                if (option == SO_LINGER) {
                    struct linger *linger = (struct linger *)value;
                    sprintf(text, "%s,%u", linger->l_onoff ? "on" : "off", linger->l_linger);
                } else if (option == SO_RCVBUF || option == SO_SNDBUF) {
                    sprintf(text, "%d", *(int *)value);
                } else {
                    sprintf(text, "%s", (size == 1 ? value[0] : *(int *)value) ? "true" : "false");
                }
            } else {
                const char *value = call->count > 6 ? call->word[6] : "";
                int status;
                if (option == SO_LINGER) {
                    const char *comma = strchr(value, ',');
                    long seconds = comma ? strtol(comma + 1, NULL, 10) : -1;
                    /* struct linger's l_linger is a u_short: a value it cannot hold cannot be passed to Winsock. */
                    if (!comma || seconds < 0 || seconds > 65535) return WSAEINVAL;
                    struct linger linger = {(u_short)(strncmp(value, "on", 2) == 0), (u_short)seconds};
                    status = setsockopt(s, level, option, (char *)&linger, sizeof linger);
                } else {
                    int number = strcmp(value, "true") == 0 ? 1 : strcmp(value, "false") == 0 ? 0 : atoi(value);
                    status = setsockopt(s, level, option, (char *)&number, sizeof number);
                }
                if (status != 0) return WSAGetLastError();
            }
        } else if (strcmp(operation, "blocking") == 0) {
            u_long nonblocking = strcmp(argument, "false") == 0;
            if (ioctlsocket(s, FIONBIO, &nonblocking) != 0) return WSAGetLastError();
        } else if (strcmp(operation, "localaddr") == 0 || strcmp(operation, "remoteaddr") == 0) {
            int status = operation[0] == 'l' ? getsockname(s, (struct sockaddr *)&address, &length)
                                             : getpeername(s, (struct sockaddr *)&address, &length);
            if (status != 0) return WSAGetLastError();
            format_address((struct sockaddr *)&address, text);
        } else if (strcmp(operation, "duplicate") == 0) {
            WSAPROTOCOL_INFOW info;
            if (WSADuplicateSocketW(s, GetCurrentProcessId(), &info) != 0) return WSAGetLastError();
            SOCKET copy = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
            if (copy == INVALID_SOCKET) return WSAGetLastError();
            opened(copy);
            sprintf(text, "%llu", (unsigned long long)copy);
        } else if (strncmp(operation, "start", 5) == 0) {
            struct operation *started = calloc(1, sizeof *started);
            started->socket = s;
            started->accepted = INVALID_SOCKET;
            started->id = _strtoui64(argument, NULL, 10);
            if (strcmp(operation, "startsend") == 0) {
                size_t count;
                started->kind = SEND;
                started->bytes = decode(call->count > 6 ? call->word[6] : "-", &count);
                started->buffer.buf = (char *)started->bytes;
                started->buffer.len = (ULONG)count;
            } else if (strcmp(operation, "startreceive") == 0) {
                int most = call->count > 6 ? atoi(call->word[6]) : 0;
                started->kind = RECEIVE;
                started->bytes = malloc((size_t)most + 1);
                started->buffer.buf = (char *)started->bytes;
                started->buffer.len = (ULONG)most;
            } else if (strcmp(operation, "startaccept") == 0) {
                started->kind = ACCEPT;
            } else {
                free(started);
                return WSAEOPNOTSUPP;
            }
            int error = start(started);
            if (error) return error;
        } else {
            return WSAEOPNOTSUPP;
        }
    }
    *answer = _strdup(text);
    return 0;
}

static DWORD WINAPI serve(LPVOID argument) {
    struct call *call = argument;
    char line[96];
    sprintf(line, "entered %s %ld", call->word[1], thread_id());
    say(line);
    char *answer = NULL;
    int error = make(call, &answer);
    if (error) {
        sprintf(line, "err %s %d", call->word[1], error);
        say(line);
    } else {
        char *whole = malloc(strlen(answer) + 64);
        sprintf(whole, "ok %s%s%s", call->word[1], answer[0] ? " " : "", answer);
        say(whole);
        free(whole);
    }
    free(answer);
    free(call->line);
    free(call);
    return 0;
}

/* ---- The threads that make the calls: a pool, each thread making one call at a time; a new one when none is idle
 * (a call may block for as long as the case wants, so the pool is never a bound). ---- */

static CRITICAL_SECTION pool_lock;
static CONDITION_VARIABLE work_ready;
static struct call *queued[1024];
static int queued_count, idle_threads;

static DWORD WINAPI pool_thread(LPVOID unused) {
    (void)unused;
    for (;;) {
        EnterCriticalSection(&pool_lock);
        idle_threads++;
        while (queued_count == 0) SleepConditionVariableCS(&work_ready, &pool_lock, INFINITE);
        idle_threads--;
        struct call *call = queued[0];
        memmove(queued, queued + 1, sizeof queued[0] * (size_t)--queued_count);
        LeaveCriticalSection(&pool_lock);
        serve(call);
    }
    return 0;
}

static void hand_over(struct call *call) {
    EnterCriticalSection(&pool_lock);
    if (queued_count == (int)(sizeof queued / sizeof queued[0])) {
        /* Never so many calls at once from the harness; should it happen, the call gets a thread of its own. */
        LeaveCriticalSection(&pool_lock);
        HANDLE thread = CreateThread(NULL, 0, serve, call, 0, NULL);
        if (thread) CloseHandle(thread);
        return;
    }
    int start_one = idle_threads <= queued_count;
    queued[queued_count++] = call;
    WakeConditionVariable(&work_ready);
    LeaveCriticalSection(&pool_lock);
    if (start_one) {
        HANDLE thread = CreateThread(NULL, 0, pool_thread, NULL, 0, NULL);
        if (thread) CloseHandle(thread);
    }
}

/* Reads one line of standard input, however long; NULL at its end. */
static char *read_line(void) {
    static char buffer[1 << 16];
    static DWORD filled, at;
    size_t size = 256, length = 0;
    char *line = malloc(size);
    for (;;) {
        if (at == filled) {
            at = filled = 0;
            if (!ReadFile(GetStdHandle(STD_INPUT_HANDLE), buffer, sizeof buffer, &filled, NULL) || filled == 0) {
                free(line);
                return NULL;
            }
        }
        char c = buffer[at++];
        if (c == '\n') break;
        if (c == '\r') continue;
        if (length + 1 >= size) line = realloc(line, size *= 2);
        line[length++] = c;
    }
    line[length] = 0;
    return line;
}

int main(int argc, char **argv) {
    WSADATA data;
    InitializeCriticalSection(&output_lock);
    InitializeCriticalSection(&table_lock);
    InitializeCriticalSection(&pool_lock);
    InitializeConditionVariable(&work_ready);
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0) return 1;
    completion_port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    CloseHandle(CreateThread(NULL, 0, completion_thread, NULL, 0, NULL));
    char *first = read_line();
    if (!first) return 0;
    if (strcmp(first, "teardown 1") != 0) fprintf(stderr, "winsock-provider: this provider speaks protocol version 1\n");
    free(first);
    say("provider 1 winsock asynchronous,duplicate,ipv6");
    /* The wineserver, named by the script that started this program: it holds every socket open here too. */
    if (argc > 1 && atoi(argv[1]) > 0) {
        char holder[64];
        sprintf(holder, "holder %d", atoi(argv[1]));
        say(holder);
    }
    char *line;
    while ((line = read_line()) != NULL) {
        struct call *call = calloc(1, sizeof *call);
        call->line = line;
        for (char *word = strtok(line, " "); word && call->count < WORDS; word = strtok(NULL, " ")) call->word[call->count++] = word;
        if (call->count < 4 || strcmp(call->word[0], "call") != 0) {
            fprintf(stderr, "winsock-provider: not a call: %s\n", call->word[0] ? call->word[0] : "");
            free(line);
            free(call);
            continue;
        }
        hand_over(call);
    }
    ExitProcess(0);
}
