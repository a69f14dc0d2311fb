import ArgumentParser
import Foundation
import VideoIO

/// The documented exit codes (sysexits.h values where one fits).
enum ExitCodes {
    /// `bitspot bench pipeline`: the run finished but missed its budget (reports were written).
    static let budgetMissed: Int32 = 3
    static let usage: Int32 = 64
    /// Input is not a usable video, or a model file is damaged.
    static let dataError: Int32 = 65
    /// Input not found: missing file, absent camera.
    static let noInput: Int32 = 66
    /// Device busy or unavailable.
    static let unavailable: Int32 = 69
    /// A build step or external tool failed (bundle).
    static let software: Int32 = 70
    /// Output cannot be written.
    static let cannotCreate: Int32 = 73
    /// Read error part-way.
    static let ioError: Int32 = 74
    /// Stopped by SIGINT or SIGTERM (results so far were written).
    static let interrupted: Int32 = 130
}

/// An error the command line reports as one line and maps to a documented exit code.
/// Each module's error type conforms in a file of its own here (`VideoIOError` below).
protocol ReportableError: Error, CustomStringConvertible {
    var exitCode: Int32 { get }
}

extension VideoIOError: ReportableError {
    var exitCode: Int32 {
        switch category {
        case .inputMissing: return ExitCodes.noInput
        case .inputInvalid, .unsupported: return ExitCodes.dataError
        case .deviceUnavailable: return ExitCodes.unavailable
        case .readFailed: return ExitCodes.ioError
        case .outputFailed: return ExitCodes.cannotCreate
        case .badRequest: return ExitCodes.usage
        }
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs a command body; a ``ReportableError`` becomes one line on standard error and its exit code.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ReportableError {
        printError("bitspot: \(error.description)")
        throw ExitCode(error.exitCode)
    }
}
