import Energy

extension EnergyError: ReportableError {
    var exitCode: Int32 {
        switch category {
        case .badRequest: return ExitCodes.usage
        case .missing: return ExitCodes.noInput
        case .notPermitted: return ExitCodes.unavailable
        case .invalidReading: return ExitCodes.dataError
        case .outputFailed: return ExitCodes.cannotCreate
        }
    }
}
