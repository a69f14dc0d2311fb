import XCTest
@testable import BitKernels

final class BitKernelsSmokeTests: XCTestCase {
    func testModuleLoads() { _ = BitKernels.self }
}
