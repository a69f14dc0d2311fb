import Foundation

/// Progress on standard error: a redrawn bar on a terminal; otherwise a plain line every 5 seconds
/// (so short runs print nothing and logs stay readable).
struct ProgressBar {
    let label: String
    let total: Int?
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var lastDraw = Date.distantPast
    var enabled = true

    init(label: String, total: Int?) {
        self.label = label
        self.total = total
    }

    mutating func update(_ done: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        if isTerminal {
            guard Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            var line = "\r\(label) "
            if let total, total > 0 {
                let fraction = min(1, Double(done) / Double(total))
                let filled = Int(fraction * 30)
                let left = rate > 0 ? Double(total - done) / rate : 0
                line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
                line += String(format: "%3.0f%% %d/%d %.0f frames/s, %.0f s left", fraction * 100, done, total, rate, max(0, left))
            } else {
                line += String(format: "%d frames, %.0f frames/s", done, rate)
            }
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        } else {
            if lastDraw == .distantPast { lastDraw = start }
            guard Date().timeIntervalSince(lastDraw) >= 5 else { return }
            lastDraw = Date()
            var line = "\(label): \(done)"
            if let total, total > 0 { line += "/\(total)" }
            line += String(format: " frames, %.0f frames/s\n", rate)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        guard enabled, isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
