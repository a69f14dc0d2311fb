// CPU feature checks for the kernel selector. No public Swift API beyond these functions.
#ifndef BITKERNELS_SHIMS_H
#define BITKERNELS_SHIMS_H

/// 1 when this x86-64 CPU has AVX2 and POPCNT (the BitKernelsX86 tier can run), else 0.
int bitkernels_cpu_has_x86_avx2_popcnt(void);

#include <stdint.h>

/// Atomic loads, stores and adds for the worker pool's spin-then-sleep hand-off (acquire/release).
static inline uint64_t bitkernels_atomic_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void bitkernels_atomic_store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t bitkernels_atomic_add(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
/// A hint to the CPU inside a spin loop (`pause` on x86-64, `yield` on aarch64).
static inline void bitkernels_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
