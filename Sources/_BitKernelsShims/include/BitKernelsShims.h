// CPU feature checks for the kernel selector. No public Swift API beyond these functions.
#ifndef BITKERNELS_SHIMS_H
#define BITKERNELS_SHIMS_H

/// 1 when this x86-64 CPU has AVX2 and POPCNT (the BitKernelsX86 tier can run), else 0.
int bitkernels_cpu_has_x86_avx2_popcnt(void);

#endif
