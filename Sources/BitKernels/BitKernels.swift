/// BitKernels: bitpacking and XNOR-popcount kernels for binarized networks.
///
/// This module has no Foundation dependency and no existentials, so it also builds in Embedded Swift.
public enum BitKernels {}
