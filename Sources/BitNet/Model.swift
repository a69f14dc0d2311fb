import BitKernels

/// The operations a model file can hold (docs/model-format.md).
public enum OpKind: UInt16, Sendable, CaseIterable {
    case firstConv = 1, binaryConv, bitMaxPool, avgPool, realConv1x1, add, prelu, signPack, globalAvgPool, unpack

    public var name: String {
        switch self {
        case .firstConv: return "first_conv"
        case .binaryConv: return "binary_conv"
        case .bitMaxPool: return "bit_maxpool"
        case .avgPool: return "avg_pool"
        case .realConv1x1: return "real_conv1x1"
        case .add: return "add"
        case .prelu: return "prelu"
        case .signPack: return "sign_pack"
        case .globalAvgPool: return "global_avg_pool"
        case .unpack: return "unpack"
        }
    }
}

/// What a node's output holds.
public enum ValueKind: Sendable, Equatable {
    /// The 8-bit input image (node 0).
    case image
    /// Packed ±1 bits.
    case bits
    /// Float32.
    case real
}

/// Height, width and channels of an activation.
public struct TensorShape: Sendable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(_ height: Int, _ width: Int, _ channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var count: Int { height * width * channels }
    public var description: String { "\(height)x\(width)x\(channels)" }
}

/// The shifted PReLU's three per-channel vectors.
public struct PReLUValues: Sendable, Equatable {
    public var shiftIn: [Float]
    public var slope: [Float]
    public var shiftOut: [Float]
}

/// One node of the graph, with its parameters (already checked against its shapes).
public struct Node: Sendable {
    public var op: OpKind
    /// Producer nodes (0 = the input image); a binary conv's second input is its shortcut.
    public var inputs: [Int]
    public var shape: TensorShape
    /// Output channels before structured pruning (equal to `shape.channels` when unpruned).
    public var originalChannels: Int
    public var kind: ValueKind
    /// Convolution kernel (1 or 3), stride (1 or 2); pooling window (`poolHeight x poolWidth`).
    public var kernel = 0
    public var stride = 1
    public var poolHeight = 0
    public var poolWidth = 0
    /// First layer: input value that counts as zero (padding pixels take it).
    public var zeroPoint: Int32 = 0
    /// Packed ±1 weights `outC x k x k x words(inC)` (binary conv).
    public var binaryWeights: [UInt64] = []
    /// 8-bit weights `outC x 3 x 3 x inC` (first conv).
    public var int8Weights: [Int8] = []
    /// Float weights `outC x inC` (real 1x1 conv).
    public var realWeights: [Float] = []
    /// Integer thresholds (first conv and binary conv with bits output).
    public var thresholds: [Int32] = []
    /// Float thresholds (sign_pack): bit 1 iff x < t.
    public var signThresholds: [Float] = []
    public var scale: [Float] = []
    public var bias: [Float] = []
    /// Channel `c` of the output adds channel `shortcutMap[c]` of the shortcut (add, binary conv).
    public var shortcutMap: [Int32]?
    public var prelu: PReLUValues?
}

/// A head: a real-valued node whose output leaves the network. Exit heads may end a run early.
public struct Head: Sendable, Equatable {
    public var node: Int
    public var name: String
    public var isExit: Bool
}

/// A parsed, validated model.
public struct Model: Sendable {
    /// The input image: height, width, channels (8-bit, channels-last).
    public var input: TensorShape
    /// Nodes 1...N (index 0 of this array is node 1).
    public var nodes: [Node]
    public var heads: [Head]
    /// The metadata section (JSON text: name, charset, input size, provenance, ...).
    public var metadata: String
    /// Format version of the file.
    public var version: (major: Int, minor: Int)
    /// Size of the file in bytes.
    public var fileSize: Int

    /// Node `i` (1-based, as in the file); node 0 is the image and has no `Node`.
    public func node(_ i: Int) -> Node { nodes[i - 1] }

    /// The output shape of node `i` (0 = the image).
    public func shape(_ i: Int) -> TensorShape { i == 0 ? input : nodes[i - 1].shape }

    /// The output kind of node `i`.
    public func kind(_ i: Int) -> ValueKind { i == 0 ? .image : nodes[i - 1].kind }
}
