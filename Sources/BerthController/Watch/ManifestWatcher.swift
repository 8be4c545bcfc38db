import Dispatch
import Foundation

/// Tells when files in the stack directory (or the directories of its env and secret files)
/// change, through inotify: no polling, no cost while nothing changes.
final class ManifestWatcher: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead

    /// - Parameter onChange: called (on a private queue) with the changed file name.
    init(directories: [String], onChange: @escaping @Sendable (String) -> Void) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw LockError(message: "inotify unavailable: \(String(cString: strerror(errno)))") }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY)
        for directory in Set(directories) { _ = inotify_add_watch(fd, directory, mask) }
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "berth.manifest-watcher"))
        let fd = self.fd
        source.setEventHandler {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { break }
                var offset = 0
                while offset + 16 <= count {
                    // struct inotify_event { int wd; uint32 mask, cookie, len; char name[len]; }
                    let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                    let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, count)].prefix { $0 != 0 }
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    offset += 16 + length
                    onChange(name)
                }
            }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    func stop() { source.cancel() }
}
