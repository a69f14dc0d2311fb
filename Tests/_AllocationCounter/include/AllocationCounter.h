// Counts heap allocations made by this process while counting is on (test support only).
// The test executable defines malloc & co. here, forwarding to glibc's __libc_* functions, so every
// allocation (Swift runtime included) passes through the counter. Linux/glibc only; elsewhere the
// counter reports -1 and tests that need it skip.
#ifndef BITSPOT_ALLOCATION_COUNTER_H
#define BITSPOT_ALLOCATION_COUNTER_H

/// Starts (1) or stops (0) counting, and resets the count when starting.
void bitspot_alloc_counting(int on);
/// Allocations counted since counting started, or -1 where the counter is not available.
long bitspot_alloc_count(void);

#endif
