import ArgumentParser

/// `bitspot inspect MODEL` (filled in below once the model file exists).
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a model's layers, parameters and op counts.")
    @Argument(help: "The model file (.bitnet).") var model: String
    func run() throws {}
}
