// swift-tools-version: 5.4
// libFuzzer targets for BitSpot's parsers and its video input path (docs/reliability.md, "Fuzzing").
// Build and run them with Scripts/fuzz.sh: every module, BitSpot's included, must be compiled with
// `-sanitize=fuzzer,address -parse-as-library`, which only command-line flags can give a dependency.
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM renames an executable's entry point to
// `<Module>_main` and links `main` to it, which clashes with libFuzzer's own `main` (the targets have
// no entry point of their own, only `LLVMFuzzerTestOneInput`).
import PackageDescription

/// One executable per target; libFuzzer supplies `main`, each target `LLVMFuzzerTestOneInput`.
func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies)
}

let package = Package(
    name: "BitSpotFuzz",
    products: [
        .executable(name: "fuzz-model", targets: ["FuzzModel"]),
        .executable(name: "fuzz-config", targets: ["FuzzConfig"]),
        .executable(name: "fuzz-powerlog", targets: ["FuzzPowerLog"]),
        .executable(name: "fuzz-manifest", targets: ["FuzzManifest"]),
        .executable(name: "fuzz-video", targets: ["FuzzVideo"]),
    ],
    dependencies: [
        // `name:` keeps the product references below independent of the checkout's folder name.
        .package(name: "BitSpot", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        fuzzer("FuzzModel", [.product(name: "BitNet", package: "BitSpot")]),
        fuzzer("FuzzConfig", [
            .product(name: "Energy", package: "BitSpot"), .product(name: "Deploy", package: "BitSpot"),
            .product(name: "VideoIO", package: "BitSpot"), .product(name: "Spotting", package: "BitSpot"),
        ]),
        fuzzer("FuzzPowerLog", [.product(name: "Energy", package: "BitSpot")]),
        fuzzer("FuzzManifest", [.product(name: "Deploy", package: "BitSpot")]),
        fuzzer("FuzzVideo", [.product(name: "VideoIO", package: "BitSpot")]),
    ]
)
