import BitNet

extension BitNetError: ReportableError {
    var exitCode: Int32 {
        switch category {
        case .missing: return ExitCodes.noInput
        case .invalid: return ExitCodes.dataError
        case .unsupported: return ExitCodes.unavailable
        case .badRequest: return ExitCodes.usage
        }
    }
}
