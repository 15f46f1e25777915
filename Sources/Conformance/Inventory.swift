import Foundation

/// The process's open sockets that belong to a case, found from outside the provider: the descriptors in
/// /proc/self/fd whose socket inode has a local or remote port of the case in /proc/net/tcp and tcp6.
enum SocketInventory {
    /// Descriptors of this process whose TCP socket uses one of `ports`.
    static func descriptors(usingPorts ports: Set<UInt16>) -> [Int32] {
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9 else { continue }
                let local = fields[1].split(separator: ":").last.flatMap { UInt16($0, radix: 16) }
                let remote = fields[2].split(separator: ":").last.flatMap { UInt16($0, radix: 16) }
                if let local, ports.contains(local) { inodes.insert(String(fields[9])) }
                if let remote, ports.contains(remote) { inodes.insert(String(fields[9])) }
            }
        }
        inodes.remove("0")
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
