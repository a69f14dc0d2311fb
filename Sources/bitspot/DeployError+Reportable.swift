import Deploy

extension DeployError: ReportableError {
    var exitCode: Int32 {
        switch category {
        case .missing: return ExitCodes.noInput
        case .invalid: return ExitCodes.dataError
        case .badRequest: return ExitCodes.usage
        case .buildFailed: return ExitCodes.software
        case .outputFailed: return ExitCodes.cannotCreate
        }
    }
}
