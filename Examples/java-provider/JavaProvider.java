// A provider for Teardown on Java NIO, speaking the provider protocol (docs/provider-protocol.md) on standard
// input and output. It is a thin adapter: every call is the NIO call that does the same (SocketChannel,
// ServerSocketChannel, their blocking mode, StandardSocketOptions), made on a thread of its own, and every Java
// exception becomes the Winsock code that names it. What is judged is Java's NIO, not this file: it emulates
// nothing (no linger, no wake-up, no handle table beyond the numbers it hands out).
//
// Where NIO cannot say something the interface can, the adapter says so with an error rather than invent it:
// SO_DONTLINGER does not exist in Java (WSAENOPROTOOPT), duplicate and the asynchronous operations are not
// offered (the capabilities say so).
//
// Build: javac -d build JavaProvider.java     Run: teardown run --provider exec:'java -cp build JavaProvider'

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NetworkChannel;
import java.nio.channels.NotYetBoundException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public final class JavaProvider {
    // Winsock codes, as the protocol carries errors.
    static final int WSAEINTR = 10004, WSAEINVAL = 10022, WSAEWOULDBLOCK = 10035, WSAEALREADY = 10037,
            WSAENOTSOCK = 10038, WSAENOPROTOOPT = 10042, WSAEOPNOTSUPP = 10045, WSAEAFNOSUPPORT = 10047,
            WSAEADDRINUSE = 10048, WSAEADDRNOTAVAIL = 10049, WSAECONNABORTED = 10053, WSAECONNRESET = 10054,
            WSAEISCONN = 10056, WSAENOTCONN = 10057, WSAESHUTDOWN = 10058, WSAETIMEDOUT = 10060,
            WSAECONNREFUSED = 10061, WSASYSCALLFAILURE = 10107;

    /// A call that fails with a Winsock code.
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1;
        final int code;

        Failure(int code) {
            super(null, null, false, false);
            this.code = code;
        }
    }

    /// One socket. NIO has two channel classes where the interface has one socket: it is a SocketChannel from
    /// `socket` on, and becomes a ServerSocketChannel at `listen` (bound to the address the SocketChannel was bound
    /// to, which is then closed: a bound socket that neither listens nor connects holds no connection).
    static final class Socket {
        final StandardProtocolFamily family;
        volatile SocketChannel channel;
        volatile ServerSocketChannel server;
        /// Output shut down: NIO then throws ClosedChannelException on write, which is the interface's `shutdown`.
        volatile boolean outputShut;

        Socket(StandardProtocolFamily family, SocketChannel channel) {
            this.family = family;
            this.channel = channel;
        }

        NetworkChannel network() {
            return server != null ? server : channel;
        }
    }

    final Map<Long, Socket> sockets = new ConcurrentHashMap<>();
    final AtomicLong nextHandle = new AtomicLong(1);
    final ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "provider-call");
        thread.setDaemon(true);
        return thread;
    });
    final OutputStream out = System.out;

    public static void main(String[] arguments) throws IOException {
        new JavaProvider().serve();
    }

    void serve() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        String first = in.readLine();
        if (first == null) return;
        if (!first.equals("teardown 1")) {
            System.err.println("java-provider: this provider speaks protocol version 1; the harness said: " + first);
            say("provider 1 java-nio ipv6");
            return;
        }
        say("provider 1 java-nio ipv6");
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.split(" ");
            if (words.length < 4 || !words[0].equals("call")) {
                System.err.println("java-provider: not a call: " + line);
                continue;
            }
            threads.execute(() -> answer(words));
        }
        // The harness has gone: so does the provider.
        System.exit(0);
    }

    void say(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        synchronized (out) {
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException gone) {
                System.exit(0);
            }
        }
    }

    /// The Linux thread id of the calling thread, from /proc/thread-self (PID/task/TID); 0 where it cannot be had.
    static String threadID() {
        try {
            Path link = Files.readSymbolicLink(Path.of("/proc/thread-self"));
            return link.getFileName().toString();
        } catch (IOException | UnsupportedOperationException | SecurityException unknown) {
            return "0";
        }
    }

    void answer(String[] words) {
        String id = words[1];
        say("entered " + id + " " + threadID());
        try {
            String result = call(words[3], words);
            say("ok " + id + (result.isEmpty() ? "" : " " + result));
        } catch (Failure failure) {
            say("err " + id + " " + failure.code);
        } catch (RuntimeException unexpected) {
            System.err.println("java-provider: " + words[3] + " threw " + unexpected);
            say("err " + id + " " + WSASYSCALLFAILURE);
        }
    }

    String call(String operation, String[] words) throws Failure {
        switch (operation) {
            case "socket": return socket(words[4]);
            case "bind": return bind(socket(words), address(words[5]));
            case "listen": return listen(socket(words), integer(words[5]));
            case "accept": return accept(socket(words));
            case "connect": return connect(socket(words), address(words[5]));
            case "send": return send(socket(words), words[5]);
            case "receive": return receive(socket(words), integer(words[5]));
            case "shutdown": return shutdown(socket(words), integer(words[5]));
            case "close": return close(words[4]);
            case "getopt": return getOption(socket(words), words[5]);
            case "setopt": return setOption(socket(words), words[5], words[6]);
            case "blocking": return blocking(socket(words), Boolean.parseBoolean(words[5]));
            case "localaddr": return text(localAddress(socket(words)));
            case "remoteaddr": return remoteAddress(socket(words));
            case "cleanup": return cleanup();
            // NIO cannot duplicate a channel: the handle is checked, as every call checks it, then refused.
            case "duplicate": socket(words); throw new Failure(WSAEOPNOTSUPP);
            default: throw new Failure(WSAEOPNOTSUPP);
        }
    }

    Socket socket(String[] words) throws Failure {
        Socket socket;
        try {
            socket = sockets.get(Long.parseUnsignedLong(words[4]));
        } catch (NumberFormatException notNumber) {
            socket = null;
        }
        if (socket == null) throw new Failure(WSAENOTSOCK);
        return socket;
    }

    static int integer(String word) throws Failure {
        try {
            return Integer.parseInt(word);
        } catch (NumberFormatException notNumber) {
            throw new Failure(WSAEINVAL);
        }
    }

    static InetSocketAddress address(String text) throws Failure {
        int colon = text.lastIndexOf(':');
        if (colon < 0) throw new Failure(WSAEINVAL);
        String host = text.substring(0, colon);
        if (host.startsWith("[")) host = host.substring(1, host.length() - 1);
        try {
            return new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1)));
        } catch (IOException | IllegalArgumentException bad) {
            throw new Failure(WSAEINVAL);
        }
    }

    static String text(SocketAddress address) throws Failure {
        if (!(address instanceof InetSocketAddress)) throw new Failure(WSAEINVAL);
        InetSocketAddress inet = (InetSocketAddress) address;
        String host = inet.getAddress().getHostAddress();
        int scope = host.indexOf('%');
        if (scope >= 0) host = host.substring(0, scope);
        return (inet.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + inet.getPort();
    }

    /// The Winsock code for what NIO threw.
    static Failure failure(IOException thrown, Socket socket) {
        // NIO says AsynchronousCloseException also for a write after shutdownOutput, on a channel still open: that
        // is Winsock's WSAESHUTDOWN.
        if (thrown instanceof ClosedChannelException && socket != null && socket.outputShut && socket.channel.isOpen()) {
            return new Failure(WSAESHUTDOWN);
        }
        if (thrown instanceof AsynchronousCloseException) return new Failure(WSAEINTR);
        if (thrown instanceof ClosedChannelException) return new Failure(WSAENOTSOCK);
        if (thrown instanceof ConnectException) return new Failure(WSAECONNREFUSED);
        if (thrown instanceof BindException) {
            String message = String.valueOf(thrown.getMessage());
            return new Failure(message.contains("assign") ? WSAEADDRNOTAVAIL : WSAEADDRINUSE);
        }
        String message = String.valueOf(thrown.getMessage()).toLowerCase();
        if (message.contains("connection reset")) return new Failure(WSAECONNRESET);
        if (message.contains("broken pipe")) return new Failure(WSAESHUTDOWN);
        if (message.contains("connection aborted") || message.contains("software caused")) return new Failure(WSAECONNABORTED);
        if (message.contains("timed out")) return new Failure(WSAETIMEDOUT);
        if (message.contains("not connected")) return new Failure(WSAENOTCONN);
        if (message.contains("invalid argument")) return new Failure(WSAEINVAL);
        System.err.println("java-provider: no Winsock code for " + thrown);
        return new Failure(WSASYSCALLFAILURE);
    }

    String socket(String family) throws Failure {
        StandardProtocolFamily protocol;
        if (family.equals("ipv4")) protocol = StandardProtocolFamily.INET;
        else if (family.equals("ipv6")) protocol = StandardProtocolFamily.INET6;
        else throw new Failure(WSAEAFNOSUPPORT);
        try {
            long handle = nextHandle.getAndIncrement();
            sockets.put(handle, new Socket(protocol, SocketChannel.open(protocol)));
            return Long.toString(handle);
        } catch (UnsupportedOperationException unsupported) {
            throw new Failure(WSAEAFNOSUPPORT);
        } catch (IOException thrown) {
            throw failure(thrown, null);
        }
    }

    String bind(Socket socket, InetSocketAddress address) throws Failure {
        try {
            socket.network().bind(address);
            return "";
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        } catch (UnsupportedOperationException | java.nio.channels.AlreadyBoundException bound) {
            throw new Failure(WSAEINVAL);
        }
    }

    String listen(Socket socket, int backlog) throws Failure {
        if (socket.server != null) return "";
        try {
            SocketAddress bound = socket.channel.getLocalAddress();
            if (bound == null) throw new Failure(WSAEINVAL);
            boolean blocking = socket.channel.isBlocking();
            ServerSocketChannel server = ServerSocketChannel.open(socket.family);
            socket.channel.close();
            server.configureBlocking(blocking);
            server.bind(bound, backlog);
            socket.server = server;
            return "";
        } catch (ClosedChannelException closed) {
            throw new Failure(WSAENOTSOCK);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String accept(Socket socket) throws Failure {
        if (socket.server == null) throw new Failure(WSAEINVAL);
        try {
            SocketChannel accepted = socket.server.accept();
            if (accepted == null) throw new Failure(WSAEWOULDBLOCK);
            long handle = nextHandle.getAndIncrement();
            sockets.put(handle, new Socket(socket.family, accepted));
            return handle + " " + text(accepted.getRemoteAddress());
        } catch (NotYetBoundException notBound) {
            throw new Failure(WSAEINVAL);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String connect(Socket socket, InetSocketAddress address) throws Failure {
        if (socket.server != null) throw new Failure(WSAEINVAL);
        try {
            if (!socket.channel.connect(address)) throw new Failure(WSAEWOULDBLOCK);
            return "";
        } catch (AlreadyConnectedException connected) {
            throw new Failure(WSAEISCONN);
        } catch (ConnectionPendingException pending) {
            throw new Failure(WSAEALREADY);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    /// A blocking SocketChannel writes every byte before it returns; a nonblocking one what fits, 0 being "would block".
    String send(Socket socket, String data) throws Failure {
        if (socket.server != null) throw new Failure(WSAENOTCONN);
        ByteBuffer buffer = ByteBuffer.wrap(data.equals("-") ? new byte[0] : Base64.getDecoder().decode(data));
        int total = buffer.remaining();
        try {
            int written = socket.channel.write(buffer);
            if (written == 0 && total > 0) throw new Failure(WSAEWOULDBLOCK);
            return Integer.toString(written);
        } catch (NotYetConnectedException notConnected) {
            throw new Failure(WSAENOTCONN);
        } catch (IOException thrown) {
            // A write cut short by a close: what NIO reports is the exception, whatever it had written.
            throw failure(thrown, socket);
        }
    }

    String receive(Socket socket, int most) throws Failure {
        if (socket.server != null) throw new Failure(WSAENOTCONN);
        if (most < 0) throw new Failure(WSAEINVAL);
        ByteBuffer buffer = ByteBuffer.allocate(most);
        try {
            int read = socket.channel.read(buffer);
            if (read < 0) return "-";
            if (read == 0 && most > 0) throw new Failure(WSAEWOULDBLOCK);
            return read == 0 ? "-" : Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buffer.array(), read));
        } catch (NotYetConnectedException notConnected) {
            throw new Failure(WSAENOTCONN);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String shutdown(Socket socket, int direction) throws Failure {
        if (direction < 0 || direction > 2) throw new Failure(WSAEINVAL);
        if (socket.server != null) throw new Failure(WSAENOTCONN);
        try {
            if (direction == 0 || direction == 2) socket.channel.shutdownInput();
            if (direction == 1 || direction == 2) {
                socket.channel.shutdownOutput();
                socket.outputShut = true;
            }
            return "";
        } catch (NotYetConnectedException notConnected) {
            throw new Failure(WSAENOTCONN);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String close(String word) throws Failure {
        Socket socket;
        try {
            socket = sockets.remove(Long.parseUnsignedLong(word));
        } catch (NumberFormatException notNumber) {
            socket = null;
        }
        if (socket == null) throw new Failure(WSAENOTSOCK);
        try {
            if (socket.server != null) socket.server.close();
            else socket.channel.close();
            return "";
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    static SocketOption<?> option(String name) throws Failure {
        switch (name) {
            case "linger": return StandardSocketOptions.SO_LINGER;
            case "receiveBufferSize": return StandardSocketOptions.SO_RCVBUF;
            case "sendBufferSize": return StandardSocketOptions.SO_SNDBUF;
            case "noDelay": return StandardSocketOptions.TCP_NODELAY;
            case "reuseAddress": return StandardSocketOptions.SO_REUSEADDR;
            case "keepAlive": return StandardSocketOptions.SO_KEEPALIVE;
            // SO_DONTLINGER has no Java counterpart.
            default: throw new Failure(WSAENOPROTOOPT);
        }
    }

    String getOption(Socket socket, String name) throws Failure {
        SocketOption<?> option = option(name);
        try {
            Object value = socket.network().getOption(option);
            if (option == StandardSocketOptions.SO_LINGER) {
                int seconds = (Integer) value;
                return seconds < 0 ? "off,0" : "on," + seconds;
            }
            return String.valueOf(value);
        } catch (UnsupportedOperationException unsupported) {
            throw new Failure(WSAENOPROTOOPT);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    @SuppressWarnings("unchecked")
    String setOption(Socket socket, String name, String value) throws Failure {
        SocketOption<?> option = option(name);
        try {
            NetworkChannel channel = socket.network();
            if (option == StandardSocketOptions.SO_LINGER) {
                String[] parts = value.split(",");
                if (parts.length != 2) throw new Failure(WSAEINVAL);
                int seconds = integer(parts[1]);
                channel.setOption(StandardSocketOptions.SO_LINGER, parts[0].equals("on") ? seconds : -1);
            } else if (option.type() == Boolean.class) {
                channel.setOption((SocketOption<Boolean>) option, Boolean.parseBoolean(value));
            } else {
                channel.setOption((SocketOption<Integer>) option, integer(value));
            }
            return "";
        } catch (IllegalArgumentException | UnsupportedOperationException invalid) {
            throw new Failure(WSAEINVAL);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String blocking(Socket socket, boolean blocking) throws Failure {
        try {
            if (socket.server != null) socket.server.configureBlocking(blocking);
            else socket.channel.configureBlocking(blocking);
            return "";
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    SocketAddress localAddress(Socket socket) throws Failure {
        try {
            SocketAddress address = socket.network().getLocalAddress();
            if (address == null) throw new Failure(WSAEINVAL);
            return address;
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    String remoteAddress(Socket socket) throws Failure {
        if (socket.server != null) throw new Failure(WSAENOTCONN);
        try {
            SocketAddress address = socket.channel.getRemoteAddress();
            if (address == null) throw new Failure(WSAENOTCONN);
            return text(address);
        } catch (IOException thrown) {
            throw failure(thrown, socket);
        }
    }

    /// WSPCleanup: every socket still open is closed as with an abortive linger.
    String cleanup() {
        List<Long> handles = new ArrayList<>(sockets.keySet());
        for (Long handle : handles) {
            Socket socket = sockets.remove(handle);
            if (socket == null) continue;
            try {
                if (socket.server != null) {
                    socket.server.close();
                } else {
                    if (socket.channel.isOpen()) socket.channel.setOption(StandardSocketOptions.SO_LINGER, 0);
                    socket.channel.close();
                }
            } catch (IOException | RuntimeException ignored) {
                // Closed meanwhile: nothing left to do.
            }
        }
        return "";
    }
}
