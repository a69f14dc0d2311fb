/// An error of the runtime: a damaged or invalid model, a missing file, or an unsupported request.
public struct BitNetError: Error, CustomStringConvertible, Sendable {
    public enum Category: Sendable {
        /// The model file does not exist or cannot be opened.
        case missing
        /// The model file is damaged, truncated, hostile or inconsistent.
        case invalid
        /// The request cannot be served here (e.g. a kernel tier this CPU lacks).
        case unsupported
        /// The caller asked for something this model cannot do (e.g. an input size it cannot take).
        case badRequest
    }

    public var category: Category
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?

    public init(_ category: Category, _ message: String, path: String? = nil) {
        self.category = category
        self.message = message
        self.path = path
    }

    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}
