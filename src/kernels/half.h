/* half.h — IEEE half and bfloat16 conversions (safetensors weights, fp16
 * vector codes). */
#ifndef SS_KERNELS_HALF_H
#define SS_KERNELS_HALF_H

#include <stdint.h>

float ss_half_to_float(uint16_t h);
uint16_t ss_float_to_half(float f); /* round to nearest even */
float ss_bf16_to_float(uint16_t h);

#endif
