import Foundation

/// The process's open sockets, seen from outside the provider: /proc/net/tcp and tcp6 give each socket's ports,
/// state and inode; /proc/self/fd tells which inodes the process still holds.
enum SocketInventory {
    struct Entry {
        var inode: String
        var localPort: UInt16
        var remotePort: UInt16
        /// The kernel's TCP state number (10 is LISTEN).
        var state: Int
    }

    static let listening = 10

    /// Every TCP socket of the machine's (or namespace's) tables that has an inode.
    static func sockets() -> [Entry] {
        var entries: [Entry] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readWhole(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[9] != "0",
                    let local = fields[1].split(separator: ":").last.flatMap({ UInt16($0, radix: 16) }),
                    let remote = fields[2].split(separator: ":").last.flatMap({ UInt16($0, radix: 16) }),
                    let state = Int(fields[3], radix: 16)
                else { continue }
                entries.append(Entry(inode: String(fields[9]), localPort: local, remotePort: remote, state: state))
            }
        }
        return entries
    }

    /// A /proc file read to its end: they report a size of 0 and come a page per read.
    static func readWhole(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
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
