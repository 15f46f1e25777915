#include "CShim.h"

#include <linux/sockios.h>
#include <net/if.h>
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
