/// What went wrong in the Energy module, in one line, with a category the command line maps to an exit code.
public struct EnergyError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Category: String, Sendable, Equatable {
        /// A bad budget, meter name or option (exit 64).
        case badRequest
        /// A meter's source is not there: no such sysfs file, CSV log or vcgencmd (exit 66).
        case missing
        /// A meter exists but may not be read (permissions) or does not work on this board (exit 69).
        case notPermitted
        /// A meter gave a value that is not a number, or a file is damaged (exit 65).
        case invalidReading
        /// A report file cannot be written (exit 73).
        case outputFailed
    }

    public var category: Category
    /// What the error is about: a budget item, a file, a meter.
    public var subject: String
    public var cause: String

    public init(_ category: Category, _ subject: String, _ cause: String) {
        self.category = category
        self.subject = subject
        self.cause = cause
    }

    public var description: String { "\(subject): \(cause)" }
}
