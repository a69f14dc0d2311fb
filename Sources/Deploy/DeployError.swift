/// What went wrong while making or checking a bundle, naming the file or bundle concerned.
public struct DeployError: Error, CustomStringConvertible, Sendable {
    public enum Category: Sendable {
        /// A bundle, binary or file it names is missing.
        case missing
        /// A bundle is damaged, tampered with, unsafe, or built for another machine.
        case invalid
        /// The request is wrong (unknown target, bad option).
        case badRequest
        /// A build or archive step failed.
        case buildFailed
        /// The output cannot be written.
        case outputFailed
    }

    public let category: Category
    public let subject: String
    public let cause: String

    public init(_ category: Category, _ subject: String, _ cause: String) {
        self.category = category
        self.subject = subject
        self.cause = cause
    }

    public var description: String { "\(subject): \(cause)" }
}
