/* rng.h — a small seeded random number generator whose whole state lives in
 * a struct the caller owns (no global state): xoshiro256** seeded through
 * splitmix64, as recommended by its authors. Used for dropout masks and for
 * shuffling training data; the same seed gives the same stream everywhere.
 * Not thread-safe: one ss_rng per thread (derive them with ss_rng_seed(seed + k)). */
#ifndef SS_KERNELS_RNG_H
#define SS_KERNELS_RNG_H

#include <stdint.h>

typedef struct ss_rng {
    uint64_t s[4];
} ss_rng;

static inline uint64_t ss_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void ss_rng_seed(ss_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = ss_splitmix64(&seed);
}

static inline uint64_t ss_rng_rotl_(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t ss_rng_next(ss_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = ss_rng_rotl_(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ss_rng_rotl_(s[3], 45);
    return out;
}

/* Uniform in [0, 1) with 24 random bits (exactly representable in float). */
static inline float ss_rng_uniform(ss_rng *r) { return (float)(ss_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

/* Uniform integer in [0, n) without modulo bias (Lemire's method, rejection). */
static inline uint64_t ss_rng_below(ss_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ss_rng_next(r);
        __uint128_t m = (__uint128_t)x * n;
        if ((uint64_t)m >= threshold) return (uint64_t)(m >> 64);
    }
}

#endif
