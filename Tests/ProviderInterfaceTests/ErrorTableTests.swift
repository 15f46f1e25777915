import Glibc
import ProviderInterface
import Testing

@Suite("Named errors and addresses")
struct ErrorTableTests {
    @Test("every error of SPEC.md has its Winsock code and errno")
    func specErrors() {
        let expected: [(SocketError, Int32, Int32)] = [
            (.notSocket, 10038, EBADF), (.interrupted, 10004, EINTR), (.operationAborted, 995, ECANCELED),
            (.wouldBlock, 10035, EWOULDBLOCK), (.connectionReset, 10054, ECONNRESET),
            (.connectionAborted, 10053, ECONNABORTED), (.shutdown, 10058, EPIPE), (.notConnected, 10057, ENOTCONN),
            (.invalidArgument, 10022, EINVAL),
        ]
        for (error, winsock, errno) in expected {
            #expect(error.rawValue == winsock)
            #expect(error.errno == errno)
            #expect(SocketError(errno: errno) == error)
            #expect(SocketError(name: error.name) == error)
        }
    }

    @Test("names and codes in the table are unique, and unknown errno maps to systemCallFailure")
    func tableIsConsistent() {
        #expect(Set(SocketError.table.map(\.name)).count == SocketError.table.count)
        #expect(Set(SocketError.table.map(\.error)).count == SocketError.table.count)
        #expect(SocketError(errno: ENOTSOCK) == .notSocket)
        #expect(SocketError(errno: 9999) == .systemCallFailure)
        #expect(SocketError(name: "noSuchError") == nil)
    }

    @Test("addresses parse and print", arguments: ["127.0.0.1:8080", "[::1]:443", "10.1.2.3:0"])
    func addressRoundTrip(_ text: String) throws {
        let address = try #require(SocketAddress(text))
        #expect(address.description == text)
    }

    @Test("malformed addresses are rejected", arguments: ["", "1.2.3", "[::1", "127.0.0.1:99999", "host:80"])
    func badAddresses(_ text: String) {
        #expect(SocketAddress(text) == nil)
    }
}
