import Foundation
import SocketSystem

/// The process's open sockets, seen from outside the provider: /proc/self/fd gives each socket descriptor's
/// inode, and the descriptor itself its ports and whether it listens. (Not /proc/net/tcp: the kernel walks its
/// whole connection table for every read of it, which costs more than the rest of a case on a busy machine.)
enum SocketInventory {
    struct Entry {
        var inode: String
        var localPort: UInt16
        var remotePort: UInt16
        var listening: Bool
    }

    /// Every TCP or TCP-like socket the process holds a descriptor to.
    static func sockets() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { name -> Entry? in
            guard let fd = Int32(name), let inode = socketInode(fd), let local = try? Syscall.localAddress(fd) else { return nil }
            let remote = try? Syscall.remoteAddress(fd)
            let listening = (try? Syscall.option(fd, SOL_SOCKET, SO_ACCEPTCONN)) == 1
            // The descriptor may have been closed and its number reused meanwhile: only a socket seen the same
            // before and after counts.
            guard socketInode(fd) == inode else { return nil }
            return Entry(inode: inode, localPort: local.port, remotePort: remote?.port ?? 0, listening: listening)
        }
    }

    /// The inode of the socket behind descriptor `fd`, or nil when it is not a socket.
    static func socketInode(_ fd: Int32) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"), target.hasPrefix("socket:[")
        else { return nil }
        return String(target.dropFirst(8).dropLast())
    }

    /// The descriptors of this process that hold one of `inodes`.
    static func descriptors(holding inodes: Set<String>) -> [Int32] {
        guard !inodes.isEmpty else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
                target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast()))
            else { return nil }
            return Int32(entry)
        }.sorted()
    }
}
