#!/usr/bin/env python3
"""A small provider for Teardown in Python, on the socket module, speaking the provider protocol
(docs/provider-protocol.md) on standard input and output.

It takes its handles from the harness (the `create` and `release` upcalls), so it shows the whole protocol in
a few lines; its sockets are Python's, that is Linux's: a close does not wake a call pending in another thread,
as with the posix provider. The suite's tests also use it, broken on purpose by one argument:

  crash-in=OPERATION   the process kills itself with SIGSEGV when that operation is called
  hang-in=OPERATION    that operation never answers
  never-release        close and cleanup do not give the handle back
  leak                 cleanup forgets the sockets still open (they stay open in this process)
  no-entered           never says `entered` (no evidence that a call is pending)
  entered-without-thread   says `entered ID 0` (the provider's word only)

Run: teardown run --provider exec:'python3 Examples/python-provider/provider.py'
"""

import base64
import os
import signal
import socket
import sys
import threading

WSAEINTR, WSAEINVAL, WSAEWOULDBLOCK, WSAENOTSOCK, WSAENOPROTOOPT, WSAEOPNOTSUPP = 10004, 10022, 10035, 10038, 10042, 10045
ERRNO_TO_WINSOCK = {
    4: WSAEINTR, 9: WSAENOTSOCK, 11: WSAEWOULDBLOCK, 22: WSAEINVAL, 32: 10058, 98: 10048, 99: 10049, 103: 10053,
    104: 10054, 106: 10056, 107: 10057, 110: 10060, 111: 10061, 114: 10037, 115: WSAEWOULDBLOCK, 88: WSAENOTSOCK,
}
BREAKS = dict(word.split("=", 1) if "=" in word else (word, True) for word in sys.argv[1:])

output = threading.Lock()
upcalls = {}  # number -> [event, answer words]
upcall_lock = threading.Lock()
next_upcall = [1]
sockets = {}  # harness handle -> socket.socket
sockets_lock = threading.Lock()
leaked = []  # what the `leak` break keeps open (Python would close a socket nothing refers to)


class Failure(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def say(line):
    with output:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def upcall(kind, value):
    with upcall_lock:
        number = next_upcall[0]
        next_upcall[0] += 1
        waiter = [threading.Event(), None]
        upcalls[number] = waiter
    say("upcall %d %s %d" % (number, kind, value))
    waiter[0].wait()
    words = waiter[1]
    if words[0] != "upcall-ok":
        raise Failure(int(words[2]))
    return words[2:]


def lookup(word):
    with sockets_lock:
        sock = sockets.get(int(word))
    if sock is None:
        raise Failure(WSAENOTSOCK)
    return sock


def address(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def text(pair):
    host, port = pair[0], pair[1]
    return ("[%s]:%d" % (host, port)) if ":" in host else ("%s:%d" % (host, port))


def new_handle(sock):
    handle = int(upcall("create", sock.fileno())[0])
    with sockets_lock:
        sockets[handle] = sock
    return handle


def release(handle):
    if "never-release" not in BREAKS:
        upcall("release", handle)


def call(words):
    operation, arguments = words[3], words[4:]
    if operation == "socket":
        family = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}.get(arguments[0])
        if family is None:
            raise Failure(10047)
        return [str(new_handle(socket.socket(family, socket.SOCK_STREAM)))]
    if operation == "cleanup":
        with sockets_lock:
            left = list(sockets.items())
            sockets.clear()
        for handle, sock in left:
            if "leak" in BREAKS:
                leaked.append(sock)
                continue
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))
            sock.close()
            release(handle)
        return []
    if operation == "close":
        sock = lookup(arguments[0])
        with sockets_lock:
            sockets.pop(int(arguments[0]), None)
        sock.close()
        release(int(arguments[0]))
        return []
    sock = lookup(arguments[0])
    if operation == "bind":
        sock.bind(address(arguments[1]))
    elif operation == "listen":
        sock.listen(int(arguments[1]))
    elif operation == "accept":
        accepted, peer = sock.accept()
        return [str(new_handle(accepted)), text(peer)]
    elif operation == "connect":
        sock.connect(address(arguments[1]))
    elif operation == "send":
        data = b"" if arguments[1] == "-" else base64.b64decode(arguments[1])
        if sock.getblocking():
            sock.sendall(data)
            return [str(len(data))]
        return [str(sock.send(data))]
    elif operation == "receive":
        data = sock.recv(int(arguments[1]))
        return [base64.b64encode(data).decode() if data else "-"]
    elif operation == "shutdown":
        direction = int(arguments[1])
        if direction not in (0, 1, 2):
            raise Failure(WSAEINVAL)
        sock.shutdown(direction)
    elif operation == "getopt":
        if arguments[1] != "linger":
            raise Failure(WSAENOPROTOOPT)
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)
        on, seconds = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")
        return ["%s,%d" % ("on" if on else "off", seconds)]
    elif operation == "setopt":
        if arguments[1] != "linger":
            raise Failure(WSAENOPROTOOPT)
        on, seconds = arguments[2].split(",")
        if not 0 <= int(seconds) <= 65535:
            raise Failure(WSAEINVAL)
        raw = (1 if on == "on" else 0).to_bytes(4, "little") + int(seconds).to_bytes(4, "little")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, raw)
    elif operation == "blocking":
        sock.setblocking(arguments[1] == "true")
    elif operation == "localaddr":
        return [text(sock.getsockname())]
    elif operation == "remoteaddr":
        return [text(sock.getpeername())]
    else:
        raise Failure(WSAEOPNOTSUPP)
    return []


def serve(words):
    number, operation = words[1], words[3]
    if "no-entered" not in BREAKS:
        say("entered %s %d" % (number, 0 if "entered-without-thread" in BREAKS else threading.get_native_id()))
    if BREAKS.get("crash-in") == operation:
        os.kill(os.getpid(), signal.SIGSEGV)
    if BREAKS.get("hang-in") == operation:
        threading.Event().wait()
    try:
        say(" ".join(["ok", number] + call(words)))
    except Failure as failure:
        say("err %s %d" % (number, failure.code))
    except OSError as error:
        say("err %s %d" % (number, ERRNO_TO_WINSOCK.get(error.errno, 10107)))


def main():
    if sys.stdin.readline().strip() != "teardown 1":
        sys.stderr.write("python-provider: this provider speaks protocol version 1\n")
    say("provider 1 python-socket harness-handles,ipv6")
    for line in sys.stdin:
        words = line.split()
        if words and words[0] in ("upcall-ok", "upcall-err"):
            with upcall_lock:
                waiter = upcalls.pop(int(words[1]))
            waiter[1] = words
            waiter[0].set()
        elif len(words) >= 4 and words[0] == "call":
            threading.Thread(target=serve, args=(words,), daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    main()
