import Foundation

/// The one place plaintext of an encrypted file touches a disk: `berth secrets edit` hands it to
/// an editor. It goes in a directory only the user can enter, on a memory file system when the
/// host has one, and the directory is overwritten and removed when the editor exits, however it
/// exits. Interrupts are ignored meanwhile (as `git commit` does), so Ctrl-C in the editor
/// cannot skip the clean-up.
enum PrivateScratch {
    static func edit(_ text: String, named name: String) throws -> String {
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((base + "/berth-secret-XXXXXX").utf8CString)
        guard let directory = mkdtemp(&template).map({ String(cString: $0) }) else {
            throw CommandFailure("cannot make a private directory under \(base)")
        }
        let path = directory + "/" + (name.isEmpty ? "secret" : name)
        defer {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, let handle = FileHandle(forWritingAtPath: path) {
                handle.write(Data(count: size))
                try? handle.close()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write into the private directory \(directory)")
        }
        let environment = ProcessInfo.processInfo.environment
        let editor = environment["VISUAL"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["EDITOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "vi"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The editor may carry arguments ("code --wait"); the file is passed as "$1", never spliced in.
        process.arguments = ["-c", "\(editor) \"$1\"", "sh", path]
        signal(SIGINT, SIG_IGN)
        defer { signal(SIGINT, SIG_DFL) }
        do {
            try process.run()
        } catch {
            throw CommandFailure("cannot start the editor '\(editor)': \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("the editor '\(editor)' exited with status \(process.terminationStatus); nothing was written")
        }
        guard let data = FileManager.default.contents(atPath: path), let edited = String(data: data, encoding: .utf8) else {
            throw CommandFailure("the edited file is gone or not UTF-8 text; nothing was written")
        }
        return edited
    }
}
