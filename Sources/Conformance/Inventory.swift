import Basics
import CShim
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

    /// Every TCP or TCP-like socket this process, or a provider's process, holds a descriptor to. A provider
    /// process's descriptor is looked at through a copy (pidfd_getfd), closed at once.
    static func sockets() -> [Entry] {
        processes.flatMap { process in
            descriptors(of: process.name).compactMap { fd -> Entry? in
                guard let inode = socketInode(fd, of: process.name) else { return nil }
                var local = fd
                if let pid = process.pid {
                    local = td_foreign_descriptor(pid, fd)
                    guard local >= 0 else { return nil }
                }
                defer { if process.pid != nil { Glibc.close(local) } }
                guard let address = try? Syscall.localAddress(local) else { return nil }
                let remote = try? Syscall.remoteAddress(local)
                let listening = (try? Syscall.option(local, SOL_SOCKET, SO_ACCEPTCONN)) == 1
                // The descriptor may have been closed and its number reused meanwhile: only a socket seen the same
                // before and after counts.
                guard socketInode(fd, of: process.name) == inode else { return nil }
                return Entry(inode: inode, localPort: address.port, remotePort: remote?.port ?? 0, listening: listening)
            }
        }
    }

    /// This process (`self`), and the provider's processes.
    private static var processes: [(name: String, pid: Int32?)] {
        [("self", nil)] + ProviderProcesses.all.map { ("\($0)", $0) }
    }

    /// The descriptor numbers a process (`self`, or a pid) has open.
    private static func descriptors(of process: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process)/fd")) ?? []).compactMap { Int32($0) }
    }

    /// The inode of the socket behind descriptor `fd` of a process, or nil when it is not a socket.
    static func socketInode(_ fd: Int32, of process: String = "self") -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/fd/\(fd)"),
            target.hasPrefix("socket:[")
        else { return nil }
        return String(target.dropFirst(8).dropLast())
    }

    /// The descriptors that hold one of `inodes`, in words: `fd 7` of this process, `fd 7 of the provider's process
    /// 1234`.
    static func descriptors(holding inodes: Set<String>) -> [String] {
        guard !inodes.isEmpty else { return [] }
        return processes.flatMap { process in
            descriptors(of: process.name).sorted().compactMap { fd -> String? in
                guard let inode = socketInode(fd, of: process.name), inodes.contains(inode) else { return nil }
                return process.pid.map { "fd \(fd) of the provider's process \($0)" } ?? "fd \(fd)"
            }
        }
    }
}
