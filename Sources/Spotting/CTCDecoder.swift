import Foundation

/// Greedy CTC decoding of the recognizer's output: the best class at each time step, repeats
/// collapsed, blanks dropped. Class 0 is the blank; classes 1... are the characters of `charset`.
public struct CTCDecoder: Sendable {
    public let charset: [Character]

    /// LPCV 2020's characters: digits and upper-case letters (case-insensitive reading).
    public static let lpcv = CTCDecoder(charset: Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))

    public init(charset: [Character]) { self.charset = charset }

    /// What a crop reads, and how sure the network is.
    public struct Reading: Sendable, Equatable {
        public var text: String
        /// The smallest, over time steps, of the best class's softmax probability (0...1): one unsure
        /// step makes the whole reading unsure. 1 for an empty output.
        public var confidence: Double
    }

    /// Decodes `steps` time steps of `classes` logits each, row-major (time, class).
    public func decode(logits: UnsafeBufferPointer<Float>, steps: Int, classes: Int) -> Reading {
        precondition(classes == charset.count + 1 && logits.count >= steps * classes, "logits do not match the charset")
        var text = ""
        var previous = 0
        var confidence = 1.0
        for t in 0..<steps {
            let row = t * classes
            var best = 0
            var bestValue = logits[row]
            for c in 1..<classes where logits[row + c] > bestValue {
                best = c
                bestValue = logits[row + c]
            }
            // Softmax probability of the best class, computed stably.
            var sum = 0.0
            for c in 0..<classes { sum += exp(Double(logits[row + c] - bestValue)) }
            confidence = min(confidence, 1 / sum)
            if best != 0, best != previous { text.append(charset[best - 1]) }
            previous = best
        }
        return Reading(text: text, confidence: steps == 0 ? 1 : confidence)
    }

    public func decode(logits: [Float], steps: Int, classes: Int) -> Reading {
        logits.withUnsafeBufferPointer { decode(logits: $0, steps: steps, classes: classes) }
    }
}
