/* 2026-12-02 16:27 UTC, AMD EPYC Zen 3, one thread, gcc -O2, via /work/cpu bench (load 1.07):
 *   madd+add: 2.56 G madd/s    fma: 5.86 G fma/s
 * i.e. one 256-bit vpmaddwd per cycle vs two FMAs: not built by CMake; gcc -O2 this file. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx2,fma"))) int main(void){
  __m256i a[12]; for(int i=0;i<12;i++) a[i]=_mm256_set1_epi32(i);
  __m256i x=_mm256_set1_epi16(3), y=_mm256_set1_epi16(5);
  long N=200000000; double t0=now();
  for(long n=0;n<N;n++){
#define M(i) a[i]=_mm256_add_epi32(a[i],_mm256_madd_epi16(x,y));
    M(0)M(1)M(2)M(3)M(4)M(5)M(6)M(7)M(8)M(9)M(10)M(11)
    __asm__ volatile("" : "+x"(x), "+x"(y));
  }
  double t=now()-t0; __m256i s=a[0]; for(int i=1;i<12;i++) s=_mm256_add_epi32(s,a[i]);
  printf("madd+add: %.2f G madd/s  (chk %d)\n", 12.0*N/t*1e-9, _mm256_extract_epi32(s,0));
  __m256 f[12]; for(int i=0;i<12;i++) f[i]=_mm256_set1_ps(i);
  __m256 p=_mm256_set1_ps(1.0001f), q=_mm256_set1_ps(0.9999f);
  t0=now();
  for(long n=0;n<N;n++){
#define F(i) f[i]=_mm256_fmadd_ps(p,q,f[i]);
    F(0)F(1)F(2)F(3)F(4)F(5)F(6)F(7)F(8)F(9)F(10)F(11)
    __asm__ volatile("" : "+x"(p), "+x"(q));
  }
  t=now()-t0; __m256 fs=f[0]; for(int i=1;i<12;i++) fs=_mm256_add_ps(fs,f[i]);
  printf("fma: %.2f G fma/s (chk %f)\n", 12.0*N/t*1e-9, _mm256_cvtss_f32(fs));
  return 0;}
