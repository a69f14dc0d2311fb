/// What went wrong while reading or writing video, with the input or output it concerns.
///
/// Every case names the input (or output path) and the cause in one line, and falls into a
/// ``Category`` that the command line maps to a documented exit code.
public struct VideoIOError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; the command line maps each to one exit code.
    public enum Category: Sendable {
        /// The input does not exist: no such file, no such camera device.
        case inputMissing
        /// The input exists but is not a usable video: not a video, truncated, no video stream.
        case inputInvalid
        /// The video is valid but its codec or pixel format cannot be decoded here.
        case unsupported
        /// A device exists but cannot be used now (busy, permission denied).
        case deviceUnavailable
        /// Reading failed part-way (I/O error, connection dropped).
        case readFailed
        /// An output file or folder could not be written.
        case outputFailed
        /// The request itself is wrong (bad option value).
        case badRequest
    }

    public let category: Category
    /// The input or output this is about, as the user wrote it.
    public let subject: String
    /// The cause, in a few words.
    public let cause: String

    public init(_ category: Category, _ subject: String, _ cause: String) {
        self.category = category
        self.subject = subject
        self.cause = cause
    }

    public var description: String { "\(subject): \(cause)" }
}
