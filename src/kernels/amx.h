/* amx.h — whether AMX tiles can run: CPUID (AMX-TILE and the asked-for
 * AMX-INT8 / AMX-BF16), XCR0 (the OS saves the tile state), and Linux's
 * per-process permission for the 8 KiB tile data (>= 5.16 grants it only on
 * request: arch_prctl ARCH_REQ_XCOMP_PERM, requested here; idempotent, and
 * the only process-wide state this touches). */
#ifndef SS_KERNELS_AMX_H
#define SS_KERNELS_AMX_H

int ss_amx_available(int need_int8, int need_bf16);

#endif
