/// Edit distance between two strings (insertions, deletions, substitutions), as the LPCV referee counts it.
public func levenshtein(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}

/// 1 - distance / longer length: 1 for equal strings, 0 for nothing in common.
public func stringSimilarity(_ a: String, _ b: String) -> Double {
    let n = max(a.count, b.count)
    return n == 0 ? 1 : 1 - Double(levenshtein(a, b)) / Double(n)
}
