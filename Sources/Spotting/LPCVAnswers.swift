/// The LPCV 2020 video track's question and answer files.
///
/// `questions.txt` holds words separated by `;` (one per sign, e.g. `ROOM;EXIT;`); the answer to a
/// question is the other words on the sign where the question word was seen, written
/// `QUESTION: WORD WORD;` one per line, or `QUESTION: -;` when the word was never seen.
public enum LPCVAnswers {
    /// Question words, normalised (upper case, letters and digits only), in file order.
    public static func parseQuestions(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == ";" || $0.isNewline }).map { normalize(String($0)) }.filter { !$0.isEmpty }
    }

    /// Upper case, `A-Z0-9` only (the LPCV rules).
    public static func normalize(_ word: String) -> String {
        String(word.uppercased().filter { ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") })
    }

    /// Answers given the signs seen (each a list of words): for each question, the other words of the
    /// first sign (most words first) that contains it.
    public static func answers(questions: [String], signs: [[String]]) -> String {
        let normalised = signs.map { $0.map(normalize).filter { !$0.isEmpty } }.sorted { $0.count > $1.count }
        var out = ""
        for q in questions {
            if let sign = normalised.first(where: { $0.contains(q) }) {
                var others = sign
                if let i = others.firstIndex(of: q) { others.remove(at: i) }
                out += "\(q): \(others.isEmpty ? "-" : others.joined(separator: " "));\n"
            } else {
                out += "\(q): -;\n"
            }
        }
        return out
    }
}
