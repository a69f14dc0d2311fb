import Deploy
import Energy
import FuzzSupport
import Spotting
import VideoIO

/// Command-line and file configuration: the same text through every parser of a user-written setting —
/// budgets (`--budget` and a budget file), `--meter`, `--target`, `WxH` sizes, inputs, LPCV question
/// files. Parsers must throw their module's error for bad text; what they accept must hold together
/// (positive finite limits) and read back the same from its own description.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: buffer, as: UTF8.self)

    // Budgets.
    do {
        let budget = try Budget(parsing: text)
        checkBudget(budget, text)
    } catch {
        Fuzz.check(error is EnergyError, "Budget(parsing:) threw \(type(of: error))")
    }
    if Fuzz.write(buffer, to: budgetPath) {
        do {
            let budget = try Budget(file: budgetPath)
            checkBudget(budget, text)
        } catch {
            Fuzz.check(error is EnergyError, "Budget(file:) threw \(type(of: error))")
        }
    }

    // --meter.
    do {
        let spec = try MeterSpec(parsing: text)
        Fuzz.check((try? MeterSpec(parsing: spec.description)) == spec, "meter '\(spec)' does not read back")
    } catch {
        Fuzz.check(error is EnergyError, "MeterSpec(parsing:) threw \(type(of: error))")
    }

    // --target.
    do {
        let target = try BundleTarget(parsing: text)
        Fuzz.check(target.rawValue == text, "target '\(text)' parsed as \(target)")
    } catch {
        Fuzz.check(error is DeployError, "BundleTarget(parsing:) threw \(type(of: error))")
    }

    // --size, --scaled-size, --camera-size.
    do {
        let s = try FrameSize(parsing: text)
        Fuzz.check((16...8192).contains(s.width) && (16...8192).contains(s.height), "size \(s) out of range")
        Fuzz.check((try? FrameSize(parsing: s.description)) == s, "size \(s) does not read back")
    } catch {
        Fuzz.check(error is VideoIOError, "FrameSize(parsing:) threw \(type(of: error))")
    }

    // The input argument (parsed only: nothing is opened).
    do {
        let input = try InputSpec(text)
        Fuzz.check(input.original == text, "input keeps its text")
    } catch {
        Fuzz.check(error is VideoIOError, "InputSpec threw \(type(of: error))")
    }

    // LPCV questions, answered from signs made of the same text's lines.
    let questions = LPCVAnswers.parseQuestions(text)
    Fuzz.check(questions.allSatisfy { !$0.isEmpty && $0 == LPCVAnswers.normalize($0) }, "questions are normalised")
    let signs = text.split(whereSeparator: \.isNewline).prefix(64).map { $0.split(separator: " ").prefix(16).map(String.init) }
    let answers = LPCVAnswers.answers(questions: questions, signs: signs)
    Fuzz.check(answers.split(separator: "\n").count == questions.count, "one answer line per question")
    return 0
}

private let budgetPath: String = {
    let p = Fuzz.scratchPath("config", suffix: ".budget")
    Fuzz.removeAtExit(p)
    return p
}()

private func checkBudget(_ budget: Budget, _ text: String) {
    Fuzz.check(!budget.items.isEmpty, "an accepted budget has items")
    var keys = Set<String>()
    for item in budget.items {
        Fuzz.check(item.limit > 0 && item.limit.isFinite, "budget item \(item) has limit \(item.limit) from '\(text)'")
        Fuzz.check(keys.insert(item.key).inserted, "budget key \(item.key) twice")
        // An item reads back as itself (the per-processed-frame energy is written `energy=.../processed`).
        let written = (item.kind == .energyPerProcessedFrame ? "energy" : item.key) + "=" + item.text
        let again = try? Budget(parsing: written)
        Fuzz.check(again?.items.first?.kind == item.kind && again?.items.first?.limit == item.limit,
                   "budget item '\(written)' does not read back")
    }
}
