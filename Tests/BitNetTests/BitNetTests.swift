import XCTest
@testable import BitNet

final class BitNetSmokeTests: XCTestCase {
    func testModuleLoads() { _ = BitNet.self }
}
