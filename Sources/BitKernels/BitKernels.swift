/// BitKernels: bitpacking and XNOR-popcount kernels for binarized networks.
///
/// This module has no Foundation dependency and no existentials, so it also builds in Embedded Swift.
///
/// Bit convention (see docs/bit-convention.md): a binary activation or weight is stored as one bit,
/// **bit 1 = value -1, bit 0 = value +1** (the sign bit, as in Larq Compute Engine). Channel `c` of a
/// pixel lives in bit `c % 64` of word `c / 64`; unused high bits of the last word are 0 in activations
/// and weights alike, so they never count. The dot product of two ±1 vectors of length `K` is
/// `K - 2 * popcount(a ^ w)`. Padding of binary convolutions is **+1** (bit 0): the buffers carry a
/// zero border, and the trainer pads its sign activations with +1.
public enum BitKernels {}

/// Number of 64-bit words holding `channels` bits.
@inlinable
public func bitWords(_ channels: Int) -> Int { (channels + 63) >> 6 }

/// Output size of a convolution or pooling along one axis (PyTorch rule with symmetric padding).
@inlinable
public func convOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (input + 2 * padding - kernel) / stride + 1
}

/// Output size of a pooling window `size` with stride `size` in ceil mode (a partial last window counts).
@inlinable
public func poolOutputSize(_ input: Int, size: Int) -> Int { (input + size - 1) / size }
