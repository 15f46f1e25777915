#ifndef TEARDOWN_CPCAP_H
#define TEARDOWN_CPCAP_H
/* libpcap, found through pkg-config (libpcap-dev on Debian). */
#include <pcap/pcap.h>
#endif
