// swift-tools-version: 6.0
// BitSpot: low-power text spotting for video on edge boards.
import PackageDescription
#if canImport(Foundation)
import Foundation
#endif

/// Flags of the tuned x86-64 kernel tier: `-Xcc -mavx2` is what makes swiftc emit AVX2/POPCNT code.
/// Left out when cross-building for another architecture (BITSPOT_TARGET_ARCH set to anything but x86_64),
/// where the target's sources compile to nothing.
let bitKernelsX86Settings: [SwiftSetting] = {
    #if canImport(Foundation)
    let arch = ProcessInfo.processInfo.environment["BITSPOT_TARGET_ARCH"] ?? "x86_64"
    #else
    let arch = "x86_64"
    #endif
    #if arch(x86_64)
    if arch == "x86_64" || arch == "amd64" {
        return [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mpopcnt", "-Xcc", "-mbmi", "-Xcc", "-mbmi2"]), .define("BITSPOT_X86_TIER")]
    }
    #endif
    return []
}()

let package = Package(
    name: "BitSpot",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bitspot", targets: ["bitspot"]),
        .library(name: "VideoIO", targets: ["VideoIO"]),
        .library(name: "BitKernels", targets: ["BitKernels"]),
        .library(name: "BitNet", targets: ["BitNet"]),
        // For the fuzz targets in Fuzz/ (a separate package that depends on this one by path).
        .library(name: "Energy", targets: ["Energy"]),
        .library(name: "Deploy", targets: ["Deploy"]),
        .library(name: "Spotting", targets: ["Spotting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // FFmpeg through pkg-config, plus a header of inline shims for macros Swift cannot import.
        // libavdevice (cameras) and libavfilter (`spot --annotate`: drawbox, drawtext) are not linked: their
        // headers come with the others', and VideoIO opens them when first needed (FFmpegLibraries.swift).
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libavdevice-dev", "libavfilter-dev"])]
        ),
        .target(name: "VideoIO", dependencies: ["CFFmpeg"]),
        // Text spotting: boxes from the detector's maps, sign grouping, CTC decoding, tracking, LPCV answers.
        .target(name: "Spotting", dependencies: ["BitNet", "VideoIO"]),
        // Deployment bundles: manifest, checksums (SHA-256 from libavutil), ELF target checks.
        .target(name: "Deploy", dependencies: ["CFFmpeg"]),
        // BitKernels tiers: portable kernels (no Foundation), the x86-64 tier compiled for AVX2 + POPCNT,
        // and a C shim for the CPU check. Set BITSPOT_TARGET_ARCH=aarch64 when cross-building for ARM.
        .target(name: "_BitKernelsShims"),
        .target(name: "BitKernels"),
        .target(name: "BitKernelsX86", dependencies: ["BitKernels"], swiftSettings: bitKernelsX86Settings),
        .target(name: "BitNet", dependencies: ["BitKernels", "BitKernelsX86", "_BitKernelsShims", "CFFmpeg"]),
        // Energy: clocks, power meters, board profiles, budgets, the adaptive controller, reports. Knows nothing above it.
        .target(name: "Energy"),
        .executableTarget(
            name: "bitspot",
            dependencies: [
                "VideoIO", "BitKernels", "BitNet", "Deploy", "Spotting", "Energy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO"]),
        .testTarget(name: "SpottingTests", dependencies: ["Spotting", "VideoIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DeployTests", dependencies: ["Deploy"]),
        .testTarget(name: "BitKernelsTests", dependencies: ["BitKernels", "BitKernelsX86", "_BitKernelsShims"]),
        .target(name: "_AllocationCounter", path: "Tests/_AllocationCounter"),
        .testTarget(name: "BitNetTests", dependencies: ["BitNet", "BitKernels", "_AllocationCounter"], resources: [.copy("Fixtures")]),
        // Its Fixtures are read through #filePath (the tests run the built binary on them).
        .testTarget(name: "BitspotCLITests", dependencies: ["bitspot"], exclude: ["Fixtures"]),
        .testTarget(name: "EnergyTests", dependencies: ["Energy"]),
    ]
)
