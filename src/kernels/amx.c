/* amx.c — AMX availability (see amx.h). */
#include "kernels/amx.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

int ss_amx_available(int need_int8, int need_bf16) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((d >> 24) & 1) || (need_int8 && !((d >> 25) & 1)) || (need_bf16 && !((d >> 22) & 1))) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3) != 3) return 0; /* XTILECFG and XTILEDATA enabled by the OS */
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}
#else
int ss_amx_available(int need_int8, int need_bf16) {
    (void)need_int8, (void)need_bf16;
    return 0;
}
#endif
