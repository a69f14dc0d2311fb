#include "BitKernelsShims.h"

int bitkernels_cpu_has_x86_avx2_popcnt(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#else
    return 0;
#endif
}
