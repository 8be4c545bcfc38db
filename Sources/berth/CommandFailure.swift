/// A command that could not do what was asked, for a reason the user can act on: printed as
/// one line (`Error: …`), exit status 1. Wrong usage (unknown option, missing argument) stays
/// ArgumentParser's, exit status 64.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
