// swift-tools-version: 6.0
// BitSpot: low-power text spotting for video on edge boards.
import PackageDescription

let package = Package(
    name: "BitSpot",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bitspot", targets: ["bitspot"]),
        .library(name: "VideoIO", targets: ["VideoIO"]),
        .library(name: "BitKernels", targets: ["BitKernels"]),
        .library(name: "BitNet", targets: ["BitNet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // FFmpeg through pkg-config, plus a header of inline shims for macros Swift cannot import.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale libavdevice",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libavdevice-dev"])]
        ),
        .target(name: "VideoIO", dependencies: ["CFFmpeg"]),
        .target(name: "BitKernels"),
        .target(name: "BitNet", dependencies: ["BitKernels", "CFFmpeg"]),
        .executableTarget(
            name: "bitspot",
            dependencies: [
                "VideoIO", "BitKernels", "BitNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO"]),
        .testTarget(name: "BitKernelsTests", dependencies: ["BitKernels"]),
        .testTarget(name: "BitNetTests", dependencies: ["BitNet", "BitKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BitspotCLITests", dependencies: ["bitspot"]),
    ]
)
