import Foundation

/// The few fields of an ELF header a bundle check needs.
public struct ELFHeader: Sendable, Equatable {
    /// 64-bit (ELFCLASS64) or not.
    public let is64Bit: Bool
    public let isLittleEndian: Bool
    /// `e_machine`: 62 x86-64, 183 aarch64.
    public let machineCode: UInt16

    public var machine: ELFMachine? { ELFMachine(rawValue: machineCode) }

    /// Reads the header of the file at `path`; nil when the file is not ELF.
    public static func read(_ path: String) throws -> ELFHeader? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DeployError(.missing, path, "cannot open")
        }
        defer { try? handle.close() }
        let bytes = [UInt8](handle.readData(ofLength: 20))
        return parse(bytes)
    }

    /// Parses the first 20 bytes of an ELF file.
    public static func parse(_ b: [UInt8]) -> ELFHeader? {
        guard b.count >= 20, b[0] == 0x7F, b[1] == 0x45, b[2] == 0x4C, b[3] == 0x46 else { return nil }
        let little = b[5] == 1
        let machine = little ? UInt16(b[18]) | UInt16(b[19]) << 8 : UInt16(b[19]) | UInt16(b[18]) << 8
        return ELFHeader(is64Bit: b[4] == 2, isLittleEndian: little, machineCode: machine)
    }
}
